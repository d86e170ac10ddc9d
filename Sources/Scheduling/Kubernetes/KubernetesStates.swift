import Foundation

/// What a batch/v1 Job and its pods say about an attempt, in the terms
/// every backend shares. How a pod ended is read from its container's
/// terminated state (exit code and reason) and the pod's own reason, never
/// guessed from the Job alone: an `OOMKilled` container is an out-of-memory
/// ending (retried with more memory), an evicted or preempted pod is not the
/// job's fault, and exit 75 is g4sim asking to be resumed.
public enum KubernetesStates {
    /// nil when the Job does not exist (the caller decides: cancelled, not yet visible, or lost).
    public static func status(job: KubeJob?, pods: [KubePod], container: String) -> RunStatus? {
        guard let job else { return nil }
        let latest = pods.max(by: isOlder)
        if job.condition("Complete") != nil {
            return .ended(RunEnding(.completed, exitCode: 0, detail: "Job complete"))
        }
        if let failed = job.condition("Failed") ?? job.condition("FailureTarget") {
            if failed.reason == "DeadlineExceeded" {
                return .ended(RunEnding(.timeLimit, exitCode: terminated(latest, container)?.exitCode,
                                        detail: "activeDeadlineSeconds passed (DeadlineExceeded)"))
            }
            let failedPod = pods.filter { $0.status?.phase == "Failed" }
                .max(by: isOlder) ?? latest
            return .ended(ending(of: failedPod, container: container, jobReason: failed.reason, jobMessage: failed.message))
        }
        if job.condition("Suspended") != nil { return .queued(reason: "Job suspended") }
        guard let pod = latest else { return .queued(reason: "waiting for the Job's pod") }
        switch pod.status?.phase {
        case "Running":
            return .running
        case "Pending", nil:
            if let waiting = pod.container(container)?.state?.waiting, let reason = waiting.reason {
                return .queued(reason: [reason, waiting.message].compactMap { $0 }.joined(separator: ": "))
            }
            if let scheduled = pod.status?.conditions?.first(where: { $0.type == "PodScheduled" && $0.status == "False" }) {
                return .queued(reason: [scheduled.reason ?? "not scheduled", scheduled.message].compactMap { $0 }.joined(separator: ": "))
            }
            return .queued(reason: nil)
        default:
            // A pod ended but the Job has no verdict yet (the controller is
            // about to write one, or is replacing a disrupted pod).
            return .unknown(reason: "pod \(pod.metadata.name) is \(pod.status?.phase ?? "?"); waiting for the Job's condition")
        }
    }

    /// How a failed pod ended: the container's reason first, then the pod's.
    static func ending(of pod: KubePod?, container: String, jobReason: String?, jobMessage: String?) -> RunEnding {
        let term = terminated(pod, container)
        let podReason = pod?.status?.reason
        if term?.reason == "OOMKilled" {
            return RunEnding(.outOfMemory, exitCode: term?.exitCode, detail: "container \(container) OOMKilled")
        }
        if podReason == "Evicted" || podReason == "Preempting" || pod?.condition("DisruptionTarget") != nil {
            let why = pod?.condition("DisruptionTarget")?.reason ?? podReason ?? "disrupted"
            return RunEnding(.preempted, exitCode: term?.exitCode,
                             detail: "pod \(pod?.metadata.name ?? "?") \(why)" + (pod?.status?.message.map { ": \($0)" } ?? ""))
        }
        if podReason == "DeadlineExceeded" {
            return RunEnding(.timeLimit, exitCode: term?.exitCode, detail: "pod DeadlineExceeded")
        }
        if let term {
            if term.exitCode == 75 { return RunEnding(.resumeMe, exitCode: 75, detail: "exit code 75 (restart files written)") }
            let reason = term.reason.map { " (\($0))" } ?? ""
            return RunEnding(.failed, exitCode: term.exitCode, detail: "exit code \(term.exitCode)\(reason)" + (term.message.map { ": \($0)" } ?? ""))
        }
        return RunEnding(.failed, detail: "Job failed: " + [jobReason, jobMessage].compactMap { $0 }.joined(separator: ": "))
    }

    /// Creation times have whole seconds: of two pods created in the same
    /// second (a replacement after a quick failure), the one still going is newer.
    static func isOlder(_ a: KubePod, _ b: KubePod) -> Bool {
        func active(_ p: KubePod) -> Int { ["Pending", "Running"].contains(p.status?.phase ?? "Pending") ? 1 : 0 }
        return (a.metadata.creationTimestamp ?? "", active(a)) < (b.metadata.creationTimestamp ?? "", active(b))
    }

    static func terminated(_ pod: KubePod?, _ container: String) -> KubePod.Terminated? {
        pod?.container(container)?.state?.terminated
    }
}
