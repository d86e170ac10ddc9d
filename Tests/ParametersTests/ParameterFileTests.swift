import Foundation
import Testing
@testable import Parameters

/// The shared reference files live beside the clone (../shared), read-only.
let referenceDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/reference")

@Suite struct ReferenceParameterFiles {
    @Test func gadget4ExampleParsesUnchanged() throws {
        let path = referenceDirectory.appendingPathComponent("DM-L50-N128/param.txt").path
        let set = try ParameterFile.load(path: path)
        #expect(set.real("BoxSize") == 50.0)
        #expect(set.integer("NSample") == 128)
        #expect(set.real("SofteningComovingClass0") == 0.01)
        #expect(set.string("InitCondFile") == "./dummy.dat")
        #expect(set.real("UnitLength_in_cm") == 3.085678e24)
        #expect(set.generatesInitialConditions)
        // Compile-time options take GADGET-4's defaults.
        #expect(set.real("ASMTH") == 1.25)
        #expect(set.real("RCUT") == 7.0)
        #expect(set.optionalInteger("PMGRID") == nil)
    }

    @Test func n32FileWithConfigOptionsParses() throws {
        let set = try ParameterFile.load(path: referenceDirectory.appendingPathComponent("N32/param.txt").path)
        #expect(set.integer("PMGRID") == 64)
        #expect(set.real("ASMTH") == 2.0)
        #expect(set.flag("FOF"))
        #expect(set.flag("POWERSPEC_ON_OUTPUT"))
        #expect(!set.generatesInitialConditions)
        #expect(set.integer("ICFormat") == 3)
    }

    @Test func gadget4RunParameterFileParses() throws {
        let set = try ParameterFile.load(path: referenceDirectory.appendingPathComponent("N32/gadget4_param_ngenic.txt").path)
        #expect(set.integer("NSample") == 32)
        #expect(set.integer("Seed") == 181170)
    }

    @Test func usedValuesRoundTrip() throws {
        let set = try ParameterFile.load(path: referenceDirectory.appendingPathComponent("N32/param.txt").path)
        let text = set.usedValuesText()
        #expect(text.contains("BoxSize                            50\n"))
        #expect(text.contains("ASMTH                              2\n"))
        #expect(text.contains("RCUT                               7\n"))
        // The used-values file is itself a valid parameter file with the same values.
        let again = try ParameterFile.parse(text, file: "parameters-usedvalues")
        for spec in ParameterTable.gadget4 {
            #expect(again.value(spec.name) == set.value(spec.name), "\(spec.name)")
        }
    }
}

@Suite struct MalformedParameterFiles {
    /// A valid file to corrupt one line at a time.
    static let valid = try! String(contentsOf: referenceDirectory.appendingPathComponent("N32/param.txt"), encoding: .utf8)

    func diagnostics(_ text: String) -> [ParameterDiagnostic] {
        do {
            _ = try ParameterFile.parse(text, file: "bad.txt")
            return []
        } catch let error as ParameterFileError {
            return error.diagnostics
        } catch {
            Issue.record("unexpected error \(error)")
            return []
        }
    }

    func lineOf(_ prefix: String, in text: String) -> Int {
        text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix(prefix) }! + 1
    }

    @Test func unknownNameIsRefusedWithLineAndSuggestion() {
        let text = Self.valid + "BoxSzie 10\n"
        let d = diagnostics(text)
        #expect(d.count == 1)
        #expect(d[0].name == "BoxSzie")
        #expect(d[0].line == lineOf("BoxSzie", in: text))
        #expect(d[0].message.contains("unknown parameter"))
        #expect(d[0].message.contains("did you mean BoxSize?"))
        #expect(d[0].description.hasPrefix("bad.txt:\(lineOf("BoxSzie", in: text)): BoxSzie:"))
    }

    @Test func wrongTypeNamesTheAllowedType() {
        let text = Self.valid.replacingOccurrences(of: "NumFilesPerSnapshot       1", with: "NumFilesPerSnapshot       two")
        let d = diagnostics(text)
        #expect(d.count == 1)
        #expect(d[0].name == "NumFilesPerSnapshot")
        #expect(d[0].line == lineOf("NumFilesPerSnapshot", in: text))
        #expect(d[0].message.contains("not an integer"))
        #expect(d[0].message.contains("allowed: an integer ≥ 1"))
    }

    @Test func realGivenForIntegerIsRefused() {
        let text = Self.valid.replacingOccurrences(of: "MaxMemSize                1800", with: "MaxMemSize                1800.5")
        let d = diagnostics(text)
        #expect(d.map(\.name) == ["MaxMemSize"])
    }

    @Test func duplicateNamesBothLines() {
        let text = Self.valid + "BoxSize 100\n"
        let d = diagnostics(text)
        #expect(d.count == 1)
        #expect(d[0].name == "BoxSize")
        #expect(d[0].line == text.split(separator: "\n", omittingEmptySubsequences: false).count - 1)
        #expect(d[0].message.contains("given twice (first on line \(lineOf("BoxSize", in: text)))"))
    }

    @Test func missingRequiredIsNamed() {
        let text = Self.valid.replacingOccurrences(of: "Omega0\t                  0.308\n", with: "")
        let d = diagnostics(text)
        #expect(d.count == 1)
        #expect(d[0].name == "Omega0")
        #expect(d[0].line == nil)
        #expect(d[0].message.contains("missing"))
    }

    @Test func outOfRangeAndNonFiniteValues() {
        for bad in ["-50.0", "0", "inf", "nan", "1e400"] {
            let text = Self.valid.replacingOccurrences(of: "BoxSize                   50.0", with: "BoxSize                   \(bad)")
            let d = diagnostics(text)
            #expect(d.map(\.name) == ["BoxSize"], "BoxSize \(bad)")
            #expect(d.first?.message.contains("allowed: a real number > 0") == true, "BoxSize \(bad)")
        }
    }

    @Test func choicesAreListed() {
        let text = Self.valid.replacingOccurrences(of: "ICFormat             3", with: "ICFormat             2")
        let d = diagnostics(text)
        #expect(d.map(\.name) == ["ICFormat"])
        #expect(d.first?.message.contains("allowed: one of 1, 3") == true)
    }

    @Test func valueWithoutNameAndTrailingGarbage() {
        let d1 = diagnostics(Self.valid + "Sigma8\n")
        #expect(d1.map(\.name) == ["Sigma8"] || d1.contains { $0.name == "Sigma8" })
        let d2 = diagnostics(Self.valid.replacingOccurrences(of: "BoxSize                   50.0", with: "BoxSize 50.0 Mpc"))
        #expect(d2.map(\.name) == ["BoxSize"])
        #expect(d2.first?.message.contains("unexpected 'Mpc'") == true)
    }

    @Test func inconsistentTimesAreRefused() {
        let text = Self.valid.replacingOccurrences(of: "TimeBegin                 0.015625", with: "TimeBegin                 1.5")
        let d = diagnostics(text)
        #expect(d.map(\.name).contains("TimeBegin"))
    }

    @Test func everyErrorIsReportedAtOnce() {
        let text = Self.valid + "Foo 1\nBar 2\n"
        #expect(diagnostics(text).map(\.name) == ["Foo", "Bar"])
    }

    @Test func configShLinesAreAccepted() throws {
        let text = Self.valid.replacingOccurrences(of: "PMGRID                64", with: "PMGRID=32")
            .replacingOccurrences(of: "FOF                   1", with: "FOF")
        let set = try ParameterFile.parse(text)
        #expect(set.integer("PMGRID") == 32)
        #expect(set.flag("FOF"))
    }

    @Test func garbageNeverCrashes() {
        // Random bytes, binary junk and pathological lines must give diagnostics, not traps.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let length = Int.random(in: 0..<400, using: &generator)
            let scalars = (0..<length).map { _ in Character(UnicodeScalar(UInt8.random(in: 1...127, using: &generator))) }
            _ = diagnostics(String(scalars))
        }
        _ = diagnostics("=\n==\n= =\nPMGRID=\nPMGRID==4\n")
        _ = diagnostics(String(repeating: "A", count: 100_000))
    }
}
