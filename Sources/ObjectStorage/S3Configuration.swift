import Foundation

/// Where results go and how to sign for them, read from the variables every
/// S3 tool reads. GCS is the same protocol through its XML API
/// (`GCS_BUCKET`, endpoint https://storage.googleapis.com, HMAC keys in
/// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`).
public struct S3Configuration: Sendable, Equatable {
    public var bucket: String
    /// Scheme, host and port (and an optional path prefix) of the service.
    public var endpoint: URL
    public var region: String
    public var credentials: S3Credentials
    /// `endpoint/bucket/key` rather than `bucket.endpoint/key`: what MinIO,
    /// moto and most self-hosted servers need.
    public var pathStyle: Bool

    public init(bucket: String, endpoint: URL, region: String, credentials: S3Credentials, pathStyle: Bool) {
        self.bucket = bucket
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.pathStyle = pathStyle
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let variable: String
        public let message: String
        public var description: String { "\(variable): \(message)" }
    }

    public static let gcsEndpoint = URL(string: "https://storage.googleapis.com")!

    /// nil when neither `S3_BUCKET` nor `GCS_BUCKET` is set (results stay where
    /// the backend wrote them). Throws, naming the variable, when a set value is unusable.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> S3Configuration? {
        func value(_ name: String) -> String? {
            guard let v = env[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        let s3Bucket = value("S3_BUCKET"), gcsBucket = value("GCS_BUCKET")
        if s3Bucket != nil && gcsBucket != nil {
            throw Invalid(variable: "GCS_BUCKET", message: "set only one of S3_BUCKET and GCS_BUCKET")
        }
        guard let bucket = s3Bucket ?? gcsBucket else { return nil }
        let isGCS = gcsBucket != nil
        let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? (isGCS ? "auto" : "us-east-1")

        let endpoint: URL
        let endpointVariable = value("AWS_ENDPOINT_URL_S3") != nil ? "AWS_ENDPOINT_URL_S3" : "AWS_ENDPOINT_URL"
        if let text = value(endpointVariable) {
            guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw Invalid(variable: endpointVariable, message: "'\(text)' is not an http(s) URL such as https://s3.eu-west-1.amazonaws.com")
            }
            endpoint = url
        } else {
            endpoint = isGCS ? gcsEndpoint : URL(string: "https://s3.\(region).amazonaws.com")!
        }

        guard let key = value("AWS_ACCESS_KEY_ID") else {
            throw Invalid(variable: "AWS_ACCESS_KEY_ID", message: "required with \(isGCS ? "GCS_BUCKET (a GCS HMAC access id)" : "S3_BUCKET")")
        }
        guard let secret = value("AWS_SECRET_ACCESS_KEY") else {
            throw Invalid(variable: "AWS_SECRET_ACCESS_KEY", message: "required with AWS_ACCESS_KEY_ID")
        }
        let pathStyle: Bool
        switch value("S3_FORCE_PATH_STYLE")?.lowercased() {
        case nil: pathStyle = value(endpointVariable) != nil && !isGCS  // a custom server: path style, as MinIO wants
        case "1", "true", "yes": pathStyle = true
        case "0", "false", "no": pathStyle = false
        case let other?: throw Invalid(variable: "S3_FORCE_PATH_STYLE", message: "'\(other)' is not true or false")
        }
        return S3Configuration(bucket: bucket, endpoint: endpoint, region: region,
                               credentials: S3Credentials(accessKeyID: key, secretAccessKey: secret,
                                                          sessionToken: value("AWS_SESSION_TOKEN")),
                               pathStyle: pathStyle)
    }

    /// The URL of an object (or of the bucket, for an empty key), with the
    /// encoded path that is also signed.
    func location(key: String) -> (base: String, host: String, path: String) {
        let scheme = endpoint.scheme ?? "https"
        var host = endpoint.host ?? ""
        if let port = endpoint.port { host += ":\(port)" }
        var prefix = endpoint.path
        if prefix.hasSuffix("/") { prefix.removeLast() }
        let encodedKey = SignatureV4.uriEncode(key, keepingSlash: true)
        if pathStyle {
            let path = "\(prefix)/\(SignatureV4.uriEncode(bucket))" + (key.isEmpty ? "" : "/\(encodedKey)")
            return ("\(scheme)://\(host)", host, path)
        }
        let virtualHost = "\(bucket).\(host)"
        return ("\(scheme)://\(virtualHost)", virtualHost, "\(prefix)/\(encodedKey)")
    }
}
