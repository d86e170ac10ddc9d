import Foundation
import Parameters
import Testing
@testable import Jobs

func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

func refusal(_ body: String) -> ValidationError? {
    do {
        _ = try JobRequest.validate(try parse(body))
        return nil
    } catch let e as ValidationError {
        return e
    } catch {
        Issue.record("not a validation error: \(error)")
        return nil
    }
}

@Suite struct JSONParserTests {
    @Test func parsesDocuments() throws {
        let v = try parse(#"{"a": [1, -2.5e3, true, null, "x\n\u00e9\ud83d\ude00"], "b": {}}"#)
        #expect(v["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .null, .string("x\né😀")]))
        #expect(v["b"] == .object([]))
    }

    @Test func keepsNonFiniteTokensForValidation() throws {
        #expect(try parse("[NaN, Infinity, -Infinity]") == .array([.nonFinite("NaN"), .nonFinite("Infinity"), .nonFinite("-Infinity")]))
    }

    @Test(arguments: ["", "{", "{\"a\":1,}", "[1 2]", "{\"a\":1}x", "01", "\"\u{01}\"", "{\"a\":1,\"a\":2}", "\"\\ud800\"",
                      "nul", "[" + String(repeating: "[", count: 40) + String(repeating: "]", count: 41)])
    func refusesMalformed(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try parse(text) }
    }

    @Test func writerEscapesAndRoundTrips() throws {
        var w = JSONWriter()
        w.beginObject()
        w.field("s", "a\"b\\c\n\u{01}")
        w.field("n", 3)
        w.field("d", 0.25)
        w.field("z", Optional<String>.none)
        w.endObject()
        #expect(w.text == #"{"s":"a\"b\\c\n\u0001","n":3,"d":0.25,"z":null}"#)
        #expect(try parse(w.text)["s"] == .string("a\"b\\c\n\u{01}"))
    }
}

@Suite struct StateMachineTests {
    /// The full table of legal edges, written out independently of Transition.
    static let legal: Set<String> = [
        "queued>submitted", "requeued>submitted", "submitted>running", "submitted>completed", "running>completed",
        "queued>failed", "submitted>failed", "running>failed", "requeued>failed",
        "queued>cancelled", "submitted>cancelled", "running>cancelled", "requeued>cancelled",
        "submitted>timed_out", "running>timed_out", "submitted>requeued", "running>requeued",
    ]

    @Test func onlyTheLegalEdgesExist() {
        for a in JobState.allCases {
            for b in JobState.allCases {
                #expect(Transition.isLegal(from: a, to: b) == Self.legal.contains("\(a.rawValue)>\(b.rawValue)"), "\(a) → \(b)")
            }
        }
    }

    @Test func terminalStatesHaveNoWayOut() {
        for state in JobState.allCases where state.isTerminal {
            #expect(Transition.all.allSatisfy { !$0.from.contains(state) })
        }
    }

    @Test func applyRefusesIllegalTransitions() throws {
        var job = Job(owner: "alice", spec: try JobRequest.validate(try parse(#"{"name":"x"}"#)), backend: .local)
        #expect(job.state == .queued)
        #expect(throws: IllegalTransition.self) { try job.apply(.start) }
        try job.apply(.submit)
        try job.apply(.start)
        try job.apply(.complete)
        #expect(job.state == .completed && job.progress == 100 && job.finishedAt != nil)
        #expect(throws: IllegalTransition.self) { try job.apply(.cancel) }
        #expect(throws: IllegalTransition.self) { try job.apply(.submit) }
    }

    @Test func seedStatusHasFiveValues() {
        #expect(Set(JobState.allCases.map(\.status)) == Set(SeedStatus.allCases))
        #expect(JobState.requeued.status == .pending && JobState.timedOut.status == .failed)
    }
}

@Suite struct JobRequestTests {
    @Test func minimalBodyIsTheStandardBox() throws {
        let spec = try JobRequest.validate(try parse(#"{"name": "minimal"}"#))
        #expect(spec.numParticles == 128 * 128 * 128)
        #expect(spec.boxSize == 50)
        #expect(spec.parameters.real("TimeBegin") == 0.015625 && spec.parameters.real("TimeMax") == 1)
        #expect(spec.parameters.real("SofteningComovingClass0") == 0.01)
        #expect(spec.outputTimes == [0.25, 0.5, 1.0])
        // The file is what g4sim accepts.
        let reparsed = try ParameterFile.parse(spec.renderedParameters.file)
        #expect(reparsed.integer("NSample") == 128 && reparsed.flag("NGENIC_2LPT"))
    }

    @Test func seedBodyAndConvenienceFields() throws {
        let spec = try JobRequest.validate(try parse("""
            {"name": "seed", "description": "d", "simulator_type": "gadget4", "num_particles": 32768, "box_size": 100,
             "redshift_start": 49, "time_max": 0.5, "parameters": {"Omega0": 0.3, "OmegaLambda": 0.7, "FOF": false},
             "resources": {"ranks": 2, "wall_clock_limit": 600, "memory_mb": 500}, "backend": "auto"}
            """))
        #expect(spec.parameters.integer("NSample") == 32 && spec.parameters.integer("GridSize") == 32)
        #expect(spec.parameters.real("BoxSize") == 100)
        #expect(abs(spec.parameters.real("TimeBegin") - 0.02) < 1e-12)
        #expect(abs(spec.parameters.real("SofteningComovingClass0") - JobRequest.softeningPerSpacing * 100 / 32) < 1e-12)
        #expect(spec.parameters.real("TimeLimitCPU") == 600 && spec.parameters.integer("MaxMemSize") == 500)
        #expect(!spec.parameters.flag("FOF"))
        #expect(spec.outputTimes == [0.25, 0.5])
        #expect(spec.resources == Resources(ranks: 2, nodes: 1, wallClockLimit: 600, memoryMB: 500))
    }

    @Test(arguments: [
        (#"{}"#, "name"),
        (#"[]"#, "(body)"),
        (#"{"name": 3}"#, "name"),
        (#"{"name": "a\nb"}"#, "name"),
        (#"{"name": "x; rm -rf /"}"#, "name"),
        (#"{"name": "$(reboot)"}"#, "name"),
        (#"{"name": "../etc"}"#, "name"),
        (#"{"name": "a/b"}"#, "name"),
        (#"{"name": "x", "box_size": Infinity}"#, "box_size"),
        (#"{"name": "x", "box_size": NaN}"#, "box_size"),
        (#"{"name": "x", "box_size": -1}"#, "box_size"),
        (#"{"name": "x", "box_size": 1e400}"#, "box_size"),
        (#"{"name": "x", "box_size": "50"}"#, "box_size"),
        (#"{"name": "x", "num_particles": 9223372036854775808}"#, "num_particles"),
        (#"{"name": "x", "num_particles": 1000001}"#, "num_particles"),
        (#"{"name": "x", "num_particles": -8}"#, "num_particles"),
        (#"{"name": "x", "num_particles": 2.5}"#, "num_particles"),
        (#"{"name": "x", "colour": "red"}"#, "colour"),
        (#"{"name": "x", "parameters": {"Foo": 1}}"#, "parameters.Foo"),
        (#"{"name": "x", "parameters": {"boxsize": 1}}"#, "parameters.boxsize"),
        (#"{"name": "x", "parameters": {"Omega0": 11}}"#, "parameters.Omega0"),
        (#"{"name": "x", "parameters": {"Omega0": -Infinity}}"#, "parameters.Omega0"),
        (#"{"name": "x", "parameters": {"OutputDir": "/etc"}}"#, "parameters.OutputDir"),
        (#"{"name": "x", "parameters": {"SnapshotFileBase": "../x"}}"#, "parameters.SnapshotFileBase"),
        (#"{"name": "x", "parameters": {"NSample": 16, "PMGRID": 8}}"#, "parameters.PMGRID"),
        (#"{"name": "x", "parameters": {"TimeBegin": 0.5}, "time_max": 0.4}"#, "parameters.TimeBegin"),
        (#"{"name": "x", "parameters": {"NSample": 16}, "num_particles": 32768}"#, "num_particles"),
        (#"{"name": "x", "resources": {"ranks": 0}}"#, "resources.ranks"),
        (#"{"name": "x", "resources": {"ranks": 1e9}}"#, "resources.ranks"),
        (#"{"name": "x", "resources": {"gpus": 1}}"#, "resources.gpus"),
        (#"{"name": "x", "backend": "cloud"}"#, "backend"),
        (#"{"name": "x", "simulator_type": "arepo"}"#, "simulator_type"),
        (#"{"name": "x", "output_times": [0.5, 2]}"#, "output_times[1]"),
        (#"{"name": "x", "time_begin": 0.1, "redshift_start": 9}"#, "redshift_start"),
    ])
    func badInputNamesTheField(_ body: String, _ field: String) {
        let error = refusal(body)
        #expect(error?.field == field, "\(body) → \(String(describing: error))")
        #expect(error?.message.isEmpty == false)
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [Int64(0), 1_764_398_352_123_456, 951_782_400_000_001, -1, 4_102_444_799_999_999])
    func writerMatchesTheCalendar(_ us: Int64) {
        var w = JSONWriter()
        w.timestamp(us)
        #expect(w.text == "\"" + Clock.iso8601(us) + "\"")
    }
}

@Suite struct ParameterFileTextTests {
    /// The parameter file written for a job parses back to the same values
    /// (validation no longer re-parses it on every POST).
    @Test func renderedParameterFileParsesBack() throws {
        for body in [#"{"name": "a"}"#, #"{"name": "b", "num_particles": 4096, "parameters": {"FOF": 0, "Seed": 7}}"#] {
            let spec = try JobRequest.validate(try parse(body))
            let reparsed = try ParameterFile.parse(spec.renderedParameters.file)
            #expect(reparsed.usedValuesText() == spec.parameters.usedValuesText())
        }
    }
}
