import Foundation

/// A real S3-compatible server for the tests: moto's standalone server
/// (`moto_server` from the test venv, Tests/requirements.txt) on 127.0.0.1
/// on a free port, one per test process and mode, stopped when the process
/// exits. `authenticated` checks every request's Signature V4 against an
/// IAM user's keys, as S3 does (moto reconstructs the signature with
/// botocore); `open` accepts any request, which is what a presigned URL
/// needs there (moto does not check query-string signatures).
public enum MotoTestServer {
    public struct Server: Sendable {
        public let endpoint: String
        public let bucket: String
        public let accessKeyID: String
        public let secretAccessKey: String
        /// The server's request log (one line per request, as werkzeug writes it).
        public let logPath: String

        /// Request lines in the log containing `fragment` (e.g. `partNumber=`).
        public func requests(containing fragment: String) throws -> [String] {
            try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
                .filter { $0.contains("HTTP/1.1\"") && $0.contains(fragment) }.map(String.init)
        }
    }

    nonisolated(unsafe) static var pids: [pid_t] = []
    static let lock = NSLock()

    public static let authenticated = Task<Server, any Error> { try start(authenticated: true) }
    public static let open = Task<Server, any Error> { try start(authenticated: false) }

    /// Before auth is enforced, moto lets this many requests through: the
    /// setup script's CreateUser, PutUserPolicy, CreateAccessKey, CreateBucket.
    static let setupActions = 4

    static let setupScript = """
        import boto3, json, sys
        endpoint, bucket, authenticated = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
        kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
        key, secret = "open", "open"
        if authenticated:
            iam = boto3.client("iam", **kw)
            iam.create_user(UserName="g4")
            iam.put_user_policy(UserName="g4", PolicyName="results", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
            created = iam.create_access_key(UserName="g4")["AccessKey"]
            key, secret = created["AccessKeyId"], created["SecretAccessKey"]
        boto3.client("s3", **kw).create_bucket(Bucket=bucket)
        print(key, secret)
        """

    static func start(authenticated: Bool) throws -> Server {
        let python = Products.python
        let motoServer = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("moto_server").path
        guard FileManager.default.isExecutableFile(atPath: motoServer) else {
            throw TestSetupError("\(motoServer) is missing: run scripts/setup.sh --with-test-python (moto[server] in Tests/requirements.txt)")
        }
        let dir = Products.scratch("moto")
        let log = dir.appendingPathComponent("server.log").path
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let port = PostgresTestServer.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: motoServer)
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        var environment = ProcessInfo.processInfo.environment
        for name in environment.keys where name.hasPrefix("AWS_") { environment[name] = nil }
        if authenticated { environment["INITIAL_NO_AUTH_ACTION_COUNT"] = String(setupActions) }
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        lock.withLock {
            if pids.isEmpty {
                atexit {
                    for pid in MotoTestServer.pids { kill(pid, SIGKILL); waitpid(pid, nil, 0) }
                }
            }
            pids.append(process.processIdentifier)
        }
        // Ready when it accepts connections (moto has no readiness probe of its own).
        var ready = false
        for _ in 0..<1200 where !ready {
            ready = accepts(port: port)
            guard ready || process.isRunning else {
                throw TestSetupError("moto_server exited: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            if !ready { usleep(50_000) }
        }
        guard ready else { throw TestSetupError("moto_server did not listen on port \(port) within a minute") }
        let endpoint = "http://127.0.0.1:\(port)"
        let bucket = "g4-results"
        let output = try PostgresTestServer.run(python, ["-c", setupScript, endpoint, bucket, authenticated ? "1" : "0"])
        let words = output.split(whereSeparator: \.isWhitespace).suffix(2).map(String.init)
        guard words.count == 2 else { throw TestSetupError("moto setup printed no keys: \(output)") }
        return Server(endpoint: endpoint, bucket: bucket, accessKeyID: words[0], secretAccessKey: words[1], logPath: log)
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
