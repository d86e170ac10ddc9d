import Foundation
import Scheduling
import Testing

/// How a Job and its pods map onto an attempt's status: every case the
/// backend distinguishes, read from the fields a real API server returns
/// (the JSON below is in the shape of batch/v1 Job and v1 Pod status).
struct KubernetesStatesTests {
    static func job(_ conditions: String = "[]") throws -> KubeJob {
        try JSONDecoder().decode(KubeJob.self, from: Data(#"{"metadata": {"name": "g4-x-1"}, "status": {"conditions": \#(conditions)}}"#.utf8))
    }
    static func pod(_ name: String = "g4-x-1-abcde", created: String = "2026-12-01T10:00:00Z", phase: String, reason: String? = nil,
                    conditions: String = "[]", state: String = "{}") throws -> KubePod {
        let r = reason.map { #""reason": "\#($0)","# } ?? ""
        return try JSONDecoder().decode(KubePod.self, from: Data(#"""
            {"metadata": {"name": "\#(name)", "creationTimestamp": "\#(created)"},
             "status": {"phase": "\#(phase)", \#(r) "conditions": \#(conditions), "containerStatuses": [{"name": "g4sim", "state": \#(state)}]}}
            """#.utf8))
    }
    static func failed(_ reason: String) -> String { #"[{"type": "Failed", "status": "True", "reason": "\#(reason)"}]"# }
    static func terminated(_ code: Int, _ reason: String) -> String { #"{"terminated": {"exitCode": \#(code), "reason": "\#(reason)"}}"# }

    func ending(_ job: KubeJob, _ pods: [KubePod]) -> RunEnding? {
        if case .ended(let e)? = KubernetesStates.status(job: job, pods: pods, container: "g4sim") { return e }
        return nil
    }

    @Test func endingsComeFromTheContainersTerminatedState() throws {
        let complete = try Self.job(#"[{"type": "Complete", "status": "True"}]"#)
        #expect(ending(complete, [try Self.pod(phase: "Succeeded", state: Self.terminated(0, "Completed"))])?.kind == .completed)

        let policy = try Self.job(Self.failed("PodFailurePolicy"))
        let oom = try Self.pod(phase: "Failed", state: Self.terminated(137, "OOMKilled"))
        #expect(ending(policy, [oom])?.kind == .outOfMemory)
        let resume = try Self.pod(phase: "Failed", state: Self.terminated(75, "Error"))
        #expect(ending(policy, [resume]).map { ($0.kind, $0.exitCode) } ?? (.lost, nil) == (.resumeMe, 75))
        let crash = try Self.pod(phase: "Failed", state: Self.terminated(1, "Error"))
        #expect(ending(policy, [crash]).map { ($0.kind, $0.exitCode) } ?? (.lost, nil) == (.failed, 1))

        // A 137 without OOMKilled is a kill, not out of memory.
        #expect(ending(policy, [try Self.pod(phase: "Failed", state: Self.terminated(137, "Error"))])?.kind == .failed)
        // Evicted and preempted pods are not the job's fault.
        let evicted = try Self.pod(phase: "Failed", reason: "Evicted", state: Self.terminated(143, "Error"))
        #expect(ending(try Self.job(Self.failed("BackoffLimitExceeded")), [evicted])?.kind == .preempted)
        let preempted = try Self.pod(phase: "Failed", conditions: #"[{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]"#,
                                     state: Self.terminated(143, "Error"))
        #expect(ending(try Self.job(Self.failed("BackoffLimitExceeded")), [preempted])?.kind == .preempted)
        // The Job's deadline is a time limit, whatever the pod did.
        #expect(ending(try Self.job(Self.failed("DeadlineExceeded")), [resume])?.kind == .timeLimit)
        // The newest failed pod decides: an earlier disrupted pod was replaced.
        let replacement = try Self.pod("g4-x-1-fghij", created: "2026-12-01T10:05:00Z", phase: "Failed", state: Self.terminated(1, "Error"))
        #expect(ending(policy, [evicted, replacement])?.kind == .failed)
    }

    @Test func liveAttemptsAreQueuedRunningOrUndecided() throws {
        let live = try Self.job()
        #expect(KubernetesStates.status(job: live, pods: [], container: "g4sim") == .queued(reason: "waiting for the Job's pod"))
        let pulling = try Self.pod(phase: "Pending", state: #"{"waiting": {"reason": "ImagePullBackOff", "message": "back-off pulling"}}"#)
        #expect(KubernetesStates.status(job: live, pods: [pulling], container: "g4sim") == .queued(reason: "ImagePullBackOff: back-off pulling"))
        let unschedulable = try Self.pod(phase: "Pending", conditions: #"[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes"}]"#)
        #expect(KubernetesStates.status(job: live, pods: [unschedulable], container: "g4sim") == .queued(reason: "Unschedulable: 0/3 nodes"))
        #expect(KubernetesStates.status(job: live, pods: [try Self.pod(phase: "Running")], container: "g4sim") == .running)
        // A disrupted pod being replaced within the Job: decided later, not failed.
        let disrupted = try Self.pod(phase: "Failed", reason: "Evicted", state: Self.terminated(75, "Error"))
        guard case .unknown? = KubernetesStates.status(job: live, pods: [disrupted], container: "g4sim") else {
            Issue.record("a failed pod of a live Job must leave the attempt undecided")
            return
        }
        // Same second: the pod still going is the newer one.
        let next = try Self.pod("g4-x-1-zzzzz", phase: "Running")
        #expect(KubernetesStates.status(job: live, pods: [next, disrupted], container: "g4sim") == .running)
        #expect(KubernetesStates.status(job: nil, pods: [], container: "g4sim") == nil)
    }
}
