import Foundation
import Jobs
import Parameters
import Testing

/// Parameter files submitted as they are: what is rewritten, what is kept, what is refused.
@Suite struct ParameterFileRequestTests {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/reference")

    static func body(_ file: String, _ extra: String = "") throws -> JSONValue {
        var w = JSONWriter()
        w.beginObject(); w.field("name", "from a file"); w.field("parameter_file", file); w.endObject()
        var text = w.text
        if !extra.isEmpty { text.removeLast(); text += ", " + extra + "}" }
        return try JSONParser.parse(Array(text.utf8))
    }

    /// GADGET-4's own DM-L50-N128 example (N-GenIC block, OutputListOn 1): runnable with
    /// output_times; nothing of the file is lost, the service's names are rewritten and listed.
    @Test func gadgetExampleWithGeneratedICs() throws {
        let file = try String(contentsOf: Self.reference.appendingPathComponent("DM-L50-N128/param.txt"), encoding: .utf8)
        do {
            _ = try JobRequest.validate(try Self.body(file))
            Issue.record("accepted without an output list")
        } catch let error as ValidationError {
            #expect(error.field == "inputs.OutputListFilename" && error.message.contains("param.txt:"), "\(error)")
        }
        let spec = try JobRequest.validate(try Self.body(file, #""output_times": [0.5, 1.0], "resources": {"wall_clock_limit": 3600}"#))
        #expect(spec.numParticles == 128 * 128 * 128 && spec.parameters.real("Sigma8") == 0.9 && spec.parameters.integer("ICFormat") == 1)
        #expect(spec.resources.wallClockLimit == 3600 && spec.resources.memoryMB == 1800)  // memory from the file's MaxMemSize
        let rewritten = Dictionary(uniqueKeysWithValues: spec.rewrites.map { ($0.parameter, $0) })
        #expect(rewritten["OutputDir"]?.given == "./output" && rewritten["OutputDir"]?.used == "output")
        #expect(rewritten["InitCondFile"]?.given == "./dummy.dat" && rewritten["InitCondFile"]?.used == "./ics")
        #expect(rewritten["TimeLimitCPU"]?.given == "86400" && rewritten["TimeLimitCPU"]?.used == "3600")
        #expect(rewritten["MaxMemSize"] == nil, "unchanged values are not rewrites")
        #expect(spec.parameters.string("OutputDir") == "output" && spec.outputTimes == [0.5, 1.0])
    }

    @Test func refusals() throws {
        let file = try String(contentsOf: Self.reference.appendingPathComponent("DM-L50-N128/param.txt"), encoding: .utf8)
        func field(_ body: JSONValue) -> String? {
            do { _ = try JobRequest.validate(body); return nil } catch { return error.field }
        }
        #expect(field(try Self.body(file, #""output_times": [1.0], "box_size": 60"#)) == "box_size")
        #expect(field(try Self.body(file, #""output_times": [1.0], "parameters": {"OutputDir": "/tmp"}"#)) == "parameters.OutputDir")
        #expect(field(try Self.body(file.replacingOccurrences(of: "SnapshotFileBase     snapshot", with: "SnapshotFileBase ../../x"),
                                     #""output_times": [1.0]"#)) == "parameter_file")
        #expect(field(try Self.body(file, #""output_times": [1.0], "inputs": {"InitCondFile": "nope"}"#)) == "inputs.InitCondFile")
        #expect(field(try JSONParser.parse(Array(#"{"name": "x", "parameter_file": 5}"#.utf8))) == "parameter_file")
        #expect(field(try JSONParser.parse(Array(#"{"name": "x", "parameter_file_name": "a.txt"}"#.utf8))) == "parameter_file_name")
        // Parameters override the file (what a sweep varies).
        let spec = try JobRequest.validate(try Self.body(file, #""output_times": [1.0], "parameters": {"Sigma8": 0.8}"#))
        #expect(spec.parameters.real("Sigma8") == 0.8)
    }
}
