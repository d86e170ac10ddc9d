import Foundation
import Jobs
import Logging
import Mustache
import RunContract

/// Runs jobs as Kubernetes Jobs: one batch/v1 Job per attempt, one pod
/// running `mpirun -np N g4sim run param.txt`, rendered from the site's
/// template (templates/kubernetes/g4sim-job.json.mustache).
///
/// The job's directory is on a PersistentVolumeClaim that the pods mount
/// and g4sync mounts too (it writes the parameter file there and reads
/// progress, restart files and logs from it, as on a cluster filesystem).
/// The container tees its output into the directory's log files, so logs
/// reach the store by byte offset like every other backend's, and `kubectl
/// logs` still shows them; the pod log API is read for the last lines of a
/// pod that failed.
///
/// Observing costs two list calls per pass (Jobs and Pods, by label), however
/// many jobs there are.
public final class KubernetesBackend: Backend, Sendable {
    public struct Configuration: Sendable {
        /// Where g4sync sees the jobs volume.
        public var jobsDirectory: URL
        /// Where the pods mount it.
        public var mountPath: String
        public var claimName: String
        /// The compute image (g4sim, Open MPI, HDF5, FFTW).
        public var image: String
        /// g4sim inside the image.
        public var g4sim: String = "g4sim"
        public var runAsUser: Int = 1000
        public var serviceAccountName: String?
        public var ttlSecondsAfterFinished: Int = 3600
        public var terminationGracePeriodSeconds: Int = 120
        /// A label every Job and pod of this service carries, so two services in one namespace do not see each other's.
        public var instance: String = "g4"
        public var lostAfterSeconds: Double = 600
        public init(jobsDirectory: URL, mountPath: String, claimName: String, image: String) {
            self.jobsDirectory = jobsDirectory
            self.mountPath = mountPath
            self.claimName = claimName
            self.image = image
        }
    }

    public let kind = BackendKind.kubernetes
    public var submissionSeconds: Int { 60 }
    public let configuration: Configuration
    let client: any KubernetesClient
    let template: MustacheTemplate
    let logger: Logger
    /// Jobs not found; deletions sent.
    private let memory = PassMemory()

    static let container = "g4sim"

    public init(_ configuration: Configuration, client: any KubernetesClient, templatePath: String,
                logger: Logger = Logger(label: "g4.backend.kubernetes")) throws {
        guard let text = try? String(contentsOfFile: templatePath, encoding: .utf8) else {
            throw KubernetesConfigurationError("cannot read the Kubernetes template \(templatePath)")
        }
        do {
            template = try MustacheTemplate(string: text)
        } catch {
            throw KubernetesConfigurationError("the Kubernetes template \(templatePath) does not parse: \(error)")
        }
        guard configuration.mountPath.hasPrefix("/") else {
            throw KubernetesConfigurationError("KUBERNETES_JOBS_MOUNT must be an absolute path, got \(configuration.mountPath)")
        }
        self.configuration = configuration
        self.client = client
        self.logger = logger
    }

    public func directory(for job: Job) -> URL {
        configuration.jobsDirectory.appendingPathComponent(job.id, isDirectory: true)
    }

    public func canStart(_ job: Job) async -> Bool { true }

    /// One pod per job: MPI across pods (an Indexed Job with a headless
    /// Service) is not built yet, so more than one node is refused here.
    public func refusal(for job: Job) async -> ValidationError? {
        guard job.resources.nodes <= 1 else {
            return ValidationError(field: "resources.nodes",
                                   message: "the Kubernetes backend runs a job in one pod; nodes must be 1, got \(job.resources.nodes)")
        }
        return nil
    }

    /// `g4-<job id>-<attempt>`: the Job's name is the attempt's identity, so
    /// creating it twice is a 409, never a second run.
    public static func jobName(jobID: String, attempt: Int) -> String { "g4-\(jobID.lowercased())-\(attempt)" }

    var selector: String { "app.kubernetes.io/managed-by=g4,app.kubernetes.io/instance=\(configuration.instance)" }

    // MARK: Submit

    public func submit(_ job: Job, plan: AttemptPlan) async throws(SubmitError) -> Submission {
        let name = Self.jobName(jobID: job.id, attempt: plan.number)
        let manifest: String
        do {
            manifest = try render(job, plan: plan)
        } catch {
            throw .refused("the Kubernetes template does not render a Job: \(error)")
        }
        let directory = directory(for: job)
        do {
            try await offloaded {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try Durable.write(job.parameterFile(memoryMB: plan.memoryMB, timeLimitSeconds: Self.solverTimeLimit(job.resources.wallClockLimit)),
                                  to: directory.appendingPathComponent(RunLayout.parameterFile))
                try Durable.write(job.outputList, to: directory.appendingPathComponent(RunLayout.outputList))
            }
        } catch {
            throw .unavailable("cannot write the job's directory \(directory.path): \(error)")
        }
        do {
            try await client.createJob(Data(manifest.utf8))
        } catch .alreadyExists {
            logger.info("adopted a Kubernetes Job an earlier submitter created", metadata: ["job": "\(job.id)", "k8s_job": "\(name)"])
        } catch .unavailable(let message) {
            throw .unavailable(message)
        } catch .refused(let status, let message) where status == 401 || status == 403 {
            throw .unavailable("the Kubernetes API refused our credentials (\(status)): \(message)")
        } catch .refused(let status, let message) where status == 429 {
            throw .rateLimited(message)
        } catch {
            throw .refused("\(error)")
        }
        return Submission(schedulerJobID: name, backendData: "{\"attempt\":\(plan.number),\"k8s_job\":\"\(name)\"}", script: manifest)
    }

    /// g4sim's own TimeLimitCPU, below the Job's activeDeadlineSeconds (which
    /// also counts the pod's scheduling and image pull): a tenth less, at
    /// most five minutes less. g4sim stops at 85 % of it with restart files.
    static func solverTimeLimit(_ limit: Int) -> Int { limit - min(300, limit / 10) }

    /// The manifest for one attempt, checked to be JSON before it is sent.
    func render(_ job: Job, plan: AttemptPlan) throws -> String {
        func literal(_ value: String) -> String {
            String(decoding: try! JSONEncoder().encode(value), as: UTF8.self)
        }
        let labels: [String: String] = [
            "app.kubernetes.io/managed-by": "g4",
            "app.kubernetes.io/instance": configuration.instance,
            "app.kubernetes.io/name": "g4sim",
            "g4-job-id": job.id.lowercased(),
            "g4-attempt": String(plan.number),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let directory = configuration.mountPath.trimmingTrailingSlash() + "/" + job.id
        var values: [String: Any] = [
            "name": literal(Self.jobName(jobID: job.id, attempt: plan.number)),
            "namespace": literal(client.namespace),
            "labels": String(decoding: try encoder.encode(labels), as: UTF8.self),
            "activeDeadlineSeconds": job.resources.wallClockLimit,
            "ttlSecondsAfterFinished": configuration.ttlSecondsAfterFinished,
            "terminationGracePeriodSeconds": configuration.terminationGracePeriodSeconds,
            "runAsUser": configuration.runAsUser,
            "image": literal(configuration.image),
            "directory": literal(directory),
            "launch": literal(Self.launchScript),
            "ranksText": literal(String(job.resources.ranks)),
            "g4sim": literal(configuration.g4sim),
            "resumeText": literal(plan.resume ? "1" : "0"),
            "cpu": literal(String(job.resources.ranks)),
            "memory": literal("\(job.resources.ranks * plan.memoryMB)Mi"),
            "mountPath": literal(configuration.mountPath),
            "claimName": literal(configuration.claimName),
        ]
        if let account = configuration.serviceAccountName { values["serviceAccountName"] = literal(account) }
        let text = template.render(values)
        do {
            _ = try JSONSerialization.jsonObject(with: Data(text.utf8))
        } catch {
            throw KubernetesConfigurationError("the rendered manifest is not JSON: \(error)")
        }
        return text
    }

    /// The container's command (bash -c): resume when asked to or when the
    /// pod is a replacement after a disruption and restart files exist; tee
    /// both streams into the job's directory; pass SIGTERM (eviction,
    /// deletion, the deadline) on to mpirun, which forwards it to every
    /// rank, so g4sim writes restart files before the kill.
    static let launchScript = """
        restart=()
        if [ "$G4_RESUME" = 1 ] || [ -n "$(ls -A output/restartfiles 2>/dev/null)" ]; then restart=(--restart); fi
        echo "== g4: pod $HOSTNAME, $G4_RANKS ranks ${restart[*]}"
        mpirun -np "$G4_RANKS" --bind-to none "$G4_SIM" run param.txt "${restart[@]}" > >(tee -a stdout.log) 2> >(tee -a stderr.log >&2) &
        launcher=$!
        trap 'kill -TERM "$launcher" 2>/dev/null' TERM
        while true; do
          wait "$launcher"
          status=$?
          kill -0 "$launcher" 2>/dev/null || break
        done
        wait
        exit $status
        """

    // MARK: Observe

    public func observe(_ jobs: [Job]) async -> [String: RunStatus] {
        let kubeJobs: [KubeJob], pods: [KubePod]
        do {
            kubeJobs = try await client.jobs(labelSelector: selector)
            pods = try await client.pods(labelSelector: selector)
        } catch {
            logger.warning("listing Jobs and pods failed; nothing decided this pass", metadata: ["error": "\(error)"])
            return Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, RunStatus.unknown(reason: "\(error)")) })
        }
        let jobsByName = Dictionary(kubeJobs.map { ($0.metadata.name, $0) }, uniquingKeysWith: { a, _ in a })
        let podsByJob = Dictionary(grouping: pods) { pod in
            Self.jobName(jobID: pod.metadata.labels?["g4-job-id"] ?? "", attempt: Int(pod.metadata.labels?["g4-attempt"] ?? "") ?? 0)
        }
        memory.keepOnly(Set(jobs.map(\.id)))
        var out: [String: RunStatus] = [:]
        for job in jobs {
            let name = job.schedulerJobID ?? Self.jobName(jobID: job.id, attempt: job.attempts)
            if let status = KubernetesStates.status(job: jobsByName[name], pods: podsByJob[name] ?? [], container: Self.container) {
                memory.seen(job.id)
                out[job.id] = await withFailureLog(status, pods: podsByJob[name] ?? [])
                continue
            }
            // Gone: deleted by our cancel (here, or by a process before a restart), else not yet visible or lost.
            let missing = memory.missing(job.id)
            if memory.cancelSent(job.id) || (job.cancelRequested && missing >= .seconds(30)) {
                out[job.id] = .ended(RunEnding(.cancelled, detail: "Kubernetes Job \(name) deleted"))
            } else if missing >= .seconds(configuration.lostAfterSeconds) {
                out[job.id] = .ended(RunEnding(.lost, detail: "Kubernetes Job \(name) has not existed for \(Int(configuration.lostAfterSeconds)) s"))
            } else {
                out[job.id] = .unknown(reason: "Kubernetes Job \(name) not found (yet)")
            }
        }
        return out
    }

    /// A failed ending's detail with the last lines its container wrote.
    func withFailureLog(_ status: RunStatus, pods: [KubePod]) async -> RunStatus {
        guard case .ended(var ending) = status, ending.kind == .failed,
              let pod = pods.filter({ $0.status?.phase == "Failed" }).last else { return status }
        if let tail = try? await client.podLog(named: pod.metadata.name, container: Self.container, tailLines: 5) {
            let lines = tail.split(separator: "\n").suffix(5).joined(separator: " | ")
            if !lines.isEmpty { ending.detail += "; last lines: " + lines }
        }
        return .ended(ending)
    }

    // MARK: Cancel

    /// Deletes the attempt's Job (its pods get SIGTERM, g4sim writes restart
    /// files and exits, SIGKILL after the grace period); again a minute later
    /// if the deletion did not go through.
    public func cancel(_ job: Job) async {
        let name = job.schedulerJobID ?? Self.jobName(jobID: job.id, attempt: job.attempts)
        guard memory.cancelDue(job.id) else { return }
        do {
            try await client.deleteJob(named: name)
            logger.info("Kubernetes Job deleted", metadata: ["job": "\(job.id)", "k8s_job": "\(name)"])
        } catch {
            memory.cancelFailed(job.id)
            logger.warning("deleting the Kubernetes Job failed", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
    }
}

extension String {
    fileprivate func trimmingTrailingSlash() -> String {
        var s = self
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }
}
