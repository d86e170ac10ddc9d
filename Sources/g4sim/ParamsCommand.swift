import ArgumentParser
import Foundation
import Parameters

struct ParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params",
        abstract: "Work with GADGET-4 parameter files.",
        subcommands: [Check.self, List.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a parameter file and print the values a run would use.",
            discussion: "Prints GADGET-4's parameters-usedvalues layout on success; on failure lists every problem with its line and exits with status 1.")

        @Argument(help: "The parameter file (GADGET-4 syntax).")
        var file: String

        func run() throws {
            do {
                let set = try ParameterFile.load(path: file)
                FileHandle.standardOutput.write(Data(set.usedValuesText().utf8))
            } catch let error as ParameterFileError {
                printError(error.description)
                throw ExitCode(1)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every parameter g4sim knows, with what it accepts.")

        func run() {
            for spec in ParameterTable.gadget4 {
                let when: String
                switch spec.requirement {
                case .required: when = "required"
                case .requiredForGeneratedICs: when = "required to generate ICs"
                case .optional(let d?): when = "default \(d)"
                case .optional(nil): when = "optional"
                }
                emit("\(spec.name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(spec.allowed); \(when). \(spec.summary)")
            }
        }
    }
}
