import AsyncHTTPClient
import Foundation
import Jobs
import Scheduling
import ServiceTestSupport
import Testing

/// The Kubernetes backend through a real g4api, against the stand-in API
/// server (no real one can run here): every Job it creates must pass the
/// official strict batch/v1 schema and the server's own rules, and its
/// "kubelet" runs the container's command, so real g4sim runs on 2 ranks.
@Suite(.serialized) struct KubernetesBackendTests {
    let client = HTTPClient.shared

    /// A g4api with the Kubernetes backend on the stand-in API server;
    /// `directory` again starts a new g4api on the same store and volume.
    func server(_ fake: FakeKubernetes, _ label: String, g4sim: String = Products.g4sim, directory: URL? = nil,
                environment: [String: String] = [:]) async throws -> (ServerProcess, String, URL) {
        let dir = directory ?? Products.scratch("k8s-\(label)")
        let jobs = dir.appendingPathComponent("volume")
        var env = [
            "BACKENDS": "kubernetes", "KUBECONFIG": fake.kubeconfig, "KUBERNETES_IMAGE": "registry.example.org/g4/g4sim:test",
            "KUBERNETES_PVC": "g4-jobs", "KUBERNETES_JOBS_DIR": jobs.path,
            // The fake's kubelet runs on this machine: the pod sees the volume where g4sync does.
            "KUBERNETES_JOBS_MOUNT": jobs.path, "KUBERNETES_G4SIM": g4sim,
            "KUBERNETES_POLL_SECONDS": "0.3", "KUBERNETES_INSTANCE": "g4-\(label)",
            "TEMPLATES_DIR": Products.packageRoot.appendingPathComponent("templates").path,
        ]
        for (k, v) in environment { env[k] = v }
        let server = ServerProcess(directory: dir, environment: env)
        let token = try server.token(user: "alice")
        try await server.start(client: client)
        return (server, token, jobs)
    }

    /// 16³ on 2 ranks to a = 0.5: seconds of running, two snapshots.
    static let box = #""num_particles": 4096, "box_size": 50, "time_max": 0.5, "output_times": [0.25, 0.5], "parameters": {"PMGRID": 32, "MaxSizeTimestep": 0.05, "ErrTolIntAccuracy": 0.1}"#

    /// Two jobs of the same box: one runs undisturbed; the other's pod is
    /// evicted while it runs (SIGTERM to the container, restart files, exit
    /// 75, a DisruptionTarget condition), the Job's pod failure policy
    /// ignores the disruption, and the replacement pod resumes from the
    /// restart files. Both complete, with identical final particles. The
    /// manifests passed the strict schema (the fake refuses any other with
    /// 422, which would fail the job), each watch pass cost one Job list and
    /// one pod list, and progress and logs were visible while running.
    @Test func jobsRunAsKubernetesJobsAndAnEvictedPodResumes() async throws {
        let fake = try await FakeKubernetes.started()
        let (server, token, jobs) = try await server(fake, "run")
        defer { server.kill(SIGTERM) }
        let body = #"{"name": "k8s box", "backend": "kubernetes", "resources": {"ranks": 2, "wall_clock_limit": 3600}, \#(Self.box)}"#
        let plain = try await server.submit(client, body, token: token)
        let evicted = try await server.submit(client, body, token: token)

        var sawProgress = false, sawLogs = false
        try await Wait.until("the second job to run with progress", every: .milliseconds(100)) {
            let s = try await server.json(client, "/api/v1/simulations/\(evicted)/status", token: token)
            if text(s["phase"]) == "running", (value(s["progress"]) ?? 0) > 0 {
                sawProgress = true
                let logs = try await server.json(client, "/api/v1/simulations/\(evicted)/logs?tail=5", token: token)
                sawLogs = !items(logs["lines"]).isEmpty
                return true
            }
            return JobState(rawValue: text(s["phase"]) ?? "")?.isTerminal == true
        }
        let pods = try fake.podNames(jobID: evicted)
        #expect(pods.count == 1, "\(pods)")
        _ = try fake.control("POST", "pods/\(try #require(pods.first))/evict")

        let a = try await server.waitForEnd(client, plain, token: token)
        let b = try await server.waitForEnd(client, evicted, token: token)
        #expect(text(a["phase"]) == "completed", "\(a) \(server.logText.suffix(2000))")
        #expect(text(b["phase"]) == "completed", "\(b) \(server.logText.suffix(2000))")
        #expect(sawProgress && sawLogs, "progress seen while running: \(sawProgress), logs: \(sawLogs)")
        // The eviction was the Job's business: one attempt, two pods, the second resumed.
        #expect(items(b["history"]).count == 1, "\(b["history"] ?? .null)")
        #expect(try fake.podNames(jobID: evicted).count == 2)
        let stdout = try String(contentsOf: jobs.appendingPathComponent("\(evicted)/stdout.log"), encoding: .utf8)
        #expect(stdout.contains("--restart"), "the replacement pod did not resume: \(stdout.suffix(1500))")
        for dataset in ["/PartType1/Coordinates", "/PartType1/Velocities", "/PartType1/ParticleIDs"] {
            let diff = try CommandRunner.runBlocking(["/usr/bin/h5diff", "-q", jobs.appendingPathComponent("\(plain)/output/snapshot_001.hdf5").path,
                                                      jobs.appendingPathComponent("\(evicted)/output/snapshot_001.hdf5").path, dataset],
                                                     environment: ProcessInfo.processInfo.environment, input: nil, timeout: .seconds(120))
            #expect(diff.succeeded, "\(dataset) differs after the eviction: \(diff.stdout) \(diff.stderr)")
        }

        // The manifest as sent is served, and it is what the issue asks of a Job.
        let (status, script, _) = try await server.request(client, .GET, "/api/v1/jobs/\(plain)/script", token: token)
        #expect(status == 200)
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(script)) as? [String: Any])
        let spec = try #require(manifest["spec"] as? [String: Any])
        let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        #expect(spec["activeDeadlineSeconds"] as? Int == 3600 && spec["backoffLimit"] as? Int == 0 && spec["ttlSecondsAfterFinished"] != nil)
        #expect(pod["restartPolicy"] as? String == "Never")
        #expect((pod["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true)
        let resources = container["resources"] as? [String: [String: String]]
        #expect(resources?["limits"]?["cpu"] == "2" && resources?["limits"]?["memory"] == "\(2 * 1800)Mi", "\(resources ?? [:])")
        let rules = ((spec["podFailurePolicy"] as? [String: Any])?["rules"] as? [[String: Any]]) ?? []
        #expect(rules.map { $0["action"] as? String } == ["Ignore", "FailJob", "FailJob"])
        let parameterFile = try String(contentsOf: jobs.appendingPathComponent("\(plain)/param.txt"), encoding: .utf8)
        #expect(parameterFile.contains("TimeLimitCPU                       3300"), "g4sim's own limit below the deadline")

        // Observing: one Job list and one pod list per pass, nothing per job.
        let requests = try fake.requests().filter { $0.query["labelSelector"]?.contains("instance=g4-run") == true || $0.method != "GET" }
        let jobLists = requests.filter { $0.method == "GET" && $0.path.hasSuffix("/jobs") }.count
        let podLists = requests.filter { $0.method == "GET" && $0.path.hasSuffix("/pods") }.count
        let perJob = try fake.requests().filter { $0.method == "GET" && $0.path.contains("/jobs/") }.count
        #expect(jobLists > 3 && abs(jobLists - podLists) <= 1 && perJob == 0, "job lists \(jobLists), pod lists \(podLists), per-job reads \(perJob)")
    }

    /// The container killed by the OOM killer: the pod's container state
    /// says OOMKilled, the attempt is recorded as out_of_memory and the job
    /// resubmitted once with more memory; then DELETE removes the Job, the
    /// job ends `cancelled` and no container process is left.
    @Test func outOfMemoryIsRetriedWithMoreMemoryAndCancelDeletesTheJob() async throws {
        let fake = try await FakeKubernetes.started()
        let (server, token, jobs) = try await server(fake, "oom")
        defer { server.kill(SIGTERM) }
        // 32³ to z = 0 runs for minutes: it is running when killed and when cancelled.
        let id = try await server.submit(client, #"{"name": "k8s oom", "backend": "kubernetes", "num_particles": 32768, "resources": {"ranks": 2, "memory_mb": 400}, "parameters": {"PMGRID": 64}}"#,
                                         token: token)
        func runningPod(attempt: Int) async throws -> String {
            var name: String?
            try await Wait.until("attempt \(attempt) to run", every: .milliseconds(100)) {
                let job = try await server.json(client, "/api/v1/jobs/\(id)", token: token)
                guard text(job["phase"]) == "running", value(job["attempts"]) == Double(attempt) else { return false }
                name = try fake.podNames(jobID: id).first { $0.hasPrefix("g4-\(id.lowercased())-\(attempt)-") }
                return name != nil
            }
            return name!
        }
        let first = try await runningPod(attempt: 1)
        _ = try fake.control("POST", "pods/\(first)/oom")
        _ = try await runningPod(attempt: 2)
        let job = try await server.json(client, "/api/v1/jobs/\(id)", token: token)
        let history = items(job["history"])
        #expect(history.count == 2, "\(job)")
        #expect(text(history.first?["ending"]) == "out_of_memory", "\(history.first ?? .null)")
        let memory = history.map { value($0["memory_mb"]) ?? 0 }
        #expect(memory.count == 2 && memory[1] > memory[0], "memory per rank \(memory)")
        let manifest = try await server.request(client, .GET, "/api/v1/jobs/\(id)/script", token: token).1
        #expect(String(decoding: manifest, as: UTF8.self).contains("\"\(2 * Int(memory.last ?? 0))Mi\""))

        let (status, _, _) = try await server.request(client, .DELETE, "/api/v1/jobs/\(id)", token: token)
        #expect(status == 202)
        let ended = try await server.waitForEnd(client, id, token: token)
        #expect(text(ended["phase"]) == "cancelled", "\(ended)")
        try await Wait.until("the pod's processes to be gone") {
            try fake.runningContainers().isEmpty && processesIn(jobs.appendingPathComponent(id).path) == 0
        }
    }

    /// The Job's activeDeadlineSeconds passes while the solver runs (a held
    /// stand-in that had written restart files): the Job fails with
    /// DeadlineExceeded, the attempt ends `time_limit`, and the job is
    /// resubmitted as a new Job that resumes, then completes.
    @Test func deadlineEndsTheAttemptAndTheJobResumes() async throws {
        let fake = try await FakeKubernetes.started()
        let solver = try Products.fakeSolver(in: Products.scratch("k8s-deadline-solver"), held: true)
        let (server, token, jobs) = try await server(fake, "deadline", g4sim: solver)
        defer { server.kill(SIGTERM) }
        let id = try await server.submit(client, #"{"name": "k8s deadline", "backend": "kubernetes", "resources": {"wall_clock_limit": 10, "memory_mb": 100}}"#,
                                         token: token)
        let directory = jobs.appendingPathComponent(id)
        try await Wait.until("the first attempt to start") { Products.fakeStarted(in: directory) }
        try FileManager.default.removeItem(at: directory.appendingPathComponent("fake-started"))
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("output/restartfiles"), withIntermediateDirectories: true)
        try "restart".write(to: directory.appendingPathComponent("output/restartfiles/restart.0"), atomically: true, encoding: .utf8)
        try await Wait.until("a second attempt to start") { Products.fakeStarted(in: directory) }
        Products.release(directory)
        let job = try await server.waitForEnd(client, id, token: token)
        let history = items(job["history"])
        #expect(text(job["phase"]) == "completed", "\(job)")
        #expect(history.count >= 2 && text(history.first?["ending"]) == "time_limit", "\(history)")
        #expect(text(history.first?["reason"])?.contains("DeadlineExceeded") == true, "\(history)")
        #expect(history.dropFirst().allSatisfy { $0["resumed"] == .bool(true) }, "\(history)")
    }

    /// The API server refuses the Job (a site's template that breaks the
    /// schema): the job fails with the server's own message, once; it is not
    /// retried forever.
    @Test func aJobTheAPIServerRefusesFailsWithItsMessage() async throws {
        let fake = try await FakeKubernetes.started()
        let templates = Products.scratch("k8s-bad-template")
        try FileManager.default.createDirectory(at: templates.appendingPathComponent("kubernetes"), withIntermediateDirectories: true)
        let good = try String(contentsOf: Products.packageRoot.appendingPathComponent("templates/kubernetes/g4sim-job.json.mustache"), encoding: .utf8)
        try good.replacingOccurrences(of: #""restartPolicy": "Never""#, with: #""restartPolicy": "Always""#)
            .write(to: templates.appendingPathComponent("kubernetes/g4sim-job.json.mustache"), atomically: true, encoding: .utf8)
        let solver = try Products.fakeSolver(in: Products.scratch("k8s-refused-solver"))
        let (server, token, _) = try await server(fake, "refused", g4sim: solver, environment: ["TEMPLATES_DIR": templates.path])
        defer { server.kill(SIGTERM) }
        let id = try await server.submit(client, #"{"name": "k8s refused", "backend": "kubernetes", "resources": {"memory_mb": 100}}"#, token: token)
        let job = try await server.waitForEnd(client, id, token: token)
        #expect(text(job["phase"]) == "failed", "\(job)")
        #expect(text(job["error_message"])?.contains("restartPolicy") == true, "\(job)")
        let creates = try fake.requests().filter { $0.method == "POST" && $0.path.hasSuffix("/jobs") }.count
        #expect(try fake.podNames(jobID: id).isEmpty && creates >= 1)
    }

    /// Credentials the API server refuses (401) are the service's problem,
    /// not the job's: the job stays queued while the submitter backs off; a
    /// g4api started with the right credentials on the same store runs it.
    @Test func refusedCredentialsKeepJobsQueued() async throws {
        let fake = try await FakeKubernetes.started()
        let solver = try Products.fakeSolver(in: Products.scratch("k8s-401-solver"))
        let dir = Products.scratch("k8s-401")
        let wrong = dir.appendingPathComponent("kubeconfig-wrong-token")
        let config = try String(contentsOfFile: fake.kubeconfig, encoding: .utf8)
        try config.replacingOccurrences(of: "token: fake-", with: "token: wrong-").write(to: wrong, atomically: true, encoding: .utf8)
        var (server, token, _) = try await server(fake, "401", g4sim: solver, directory: dir, environment: ["KUBECONFIG": wrong.path])
        let id = try await server.submit(client, #"{"name": "k8s 401", "backend": "kubernetes", "resources": {"memory_mb": 100}}"#, token: token)
        try await Wait.until("g4api to back off from the refused credentials") {
            server.logText.contains("backend cannot take jobs now; backing off") && server.logText.contains("(401)")
        }
        #expect(text(try await server.json(client, "/api/v1/jobs/\(id)", token: token)["phase"]) == "queued")
        server.kill(SIGTERM)
        (server, token, _) = try await self.server(fake, "401", g4sim: solver, directory: dir)
        defer { server.kill(SIGTERM) }
        let job = try await server.waitForEnd(client, id, token: token)
        #expect(text(job["phase"]) == "completed" && items(job["history"]).count == 1, "\(job)")
    }
}
