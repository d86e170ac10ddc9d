import ArgumentParser
import Foundation
import Parameters
import Snapshots

/// GADGET-4's "create ICs only": write the initial conditions a run would start from.
struct ICsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ics",
        abstract: "Write the initial conditions of a parameter file (generated with NGENIC, or read) as a GADGET-4 snapshot.")

    @Argument(help: "The parameter file.")
    var parameterFile: String

    @Option(help: "Output file (default: OutputDir/ics.hdf5).")
    var output: String?

    func run() throws {
        let parameters = try ParameterFile.load(path: parameterFile)
        try withMPI { world in
            let setup = try RunSetup(parameters: parameters)
            var (header, block) = try InitialConditionsLoader.load(setup: setup, communicator: world)
            header.parameters = setup.parameterAttributes
            header.config = setup.configAttributes
            let target = output ?? setup.outputDirectory + "/ics.hdf5"
            try HDF5Snapshot.write(block, header: header, paths: [target], units: setup.units, communicator: world)
            say(world, "wrote \(header.totalParticles) particles at a = \(header.time) to \(target)")
        }
    }
}
