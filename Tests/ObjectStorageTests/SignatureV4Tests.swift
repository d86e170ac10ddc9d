import Crypto
import Foundation
import Testing
@testable import ObjectStorage

/// AWS's published Signature V4 examples for S3: "Signature Calculations for
/// the Authorization Header: Transferring Payload in a Single Chunk"
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html:
/// GET Object, PUT Object, GET Bucket Lifecycle, GET Bucket (List Objects))
/// and "Authenticating Requests: Using Query Parameters"
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html:
/// the presigned GET of test.txt). Same example keys, date and bucket;
/// the signatures are AWS's, byte for byte.
@Suite struct SignatureV4Tests {
    static let example = SignatureV4(credentials: S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                                                secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                                     region: "us-east-1")
    static let may24 = Date(timeIntervalSince1970: 1_369_353_600)  // Fri, 24 May 2013 00:00:00 GMT
    static let host = "examplebucket.s3.amazonaws.com"

    func authorization(_ method: String, _ path: String, query: [(String, String)] = [],
                       headers: [(String, String)] = [], payloadHash: String = SignatureV4.emptyPayloadHash) -> String {
        let added = Self.example.authorizationHeaders(method: method, path: path, query: query,
                                                      headers: [("Host", Self.host)] + headers,
                                                      payloadHash: payloadHash, date: Self.may24)
        return added.first { $0.0 == "authorization" }!.1
    }

    @Test func getObjectWithRange() {
        #expect(authorization("GET", "/test.txt", headers: [("Range", "bytes=0-9")]) ==
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func putObjectWithSignedPayload() {
        let body = Array("Welcome to Amazon S3.".utf8)
        let hash = Crypto.SHA256.hash(data: body).hexString
        #expect(hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        // The key is test$file.text: `$` is encoded in the canonical URI.
        let path = "/" + SignatureV4.uriEncode("test$file.text", keepingSlash: true)
        #expect(path == "/test%24file.text")
        #expect(authorization("PUT", path, headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                                                     ("x-amz-storage-class", "REDUCED_REDUNDANCY")], payloadHash: hash) ==
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
            + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func queryParameterWithoutValue() {
        #expect(authorization("GET", "/", query: [("lifecycle", "")]).hasSuffix(
            "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"))
    }

    @Test func queryParametersAreSorted() {
        // Given out of order: the canonical query sorts them.
        #expect(authorization("GET", "/", query: [("prefix", "J"), ("max-keys", "2")]).hasSuffix(
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
    }

    @Test func presignedGet() {
        let query = Self.example.presignedQuery(method: "GET", path: "/test.txt", query: [], host: Self.host,
                                                expires: 86_400, date: Self.may24)
        #expect(S3Client.queryString(query) ==
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test func presignedURLFromTheClientIsVirtualHostedOnAWS() throws {
        let configuration = try #require(try S3Configuration.fromEnvironment([
            "S3_BUCKET": "examplebucket", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_REGION": "us-east-1",
        ]))
        // AWS's example host is the global endpoint; the regional one is what we default to.
        var global = configuration
        global.endpoint = URL(string: "https://s3.amazonaws.com")!
        let url = S3Client(configuration: global).presignedURL(key: "test.txt", expires: 86_400, date: Self.may24)
        #expect(url.absoluteString.hasPrefix("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm="))
        #expect(url.absoluteString.hasSuffix("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"))
    }

    @Test func sessionTokenIsSigned() {
        var withToken = Self.example
        withToken.credentials.sessionToken = "token/with+chars"
        let added = withToken.authorizationHeaders(method: "GET", path: "/test.txt", query: [], headers: [("host", Self.host)],
                                                   payloadHash: SignatureV4.emptyPayloadHash, date: Self.may24)
        #expect(added.contains { $0 == ("x-amz-security-token", "token/with+chars") })
        #expect(added.first { $0.0 == "authorization" }!.1.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"))
    }
}

@Suite struct ConfigurationTests {
    let keys = ["AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"]

    @Test func noBucketMeansNoObjectStorage() throws {
        #expect(try S3Configuration.fromEnvironment(keys) == nil)
    }

    @Test func awsDefaults() throws {
        let c = try #require(try S3Configuration.fromEnvironment(keys.merging(["S3_BUCKET": "b", "AWS_DEFAULT_REGION": "eu-west-1"]) { a, _ in a }))
        #expect(c.endpoint.absoluteString == "https://s3.eu-west-1.amazonaws.com")
        #expect(c.region == "eu-west-1" && !c.pathStyle)
        #expect(c.location(key: "jobs/1/a b.txt").base == "https://b.s3.eu-west-1.amazonaws.com")
        #expect(c.location(key: "jobs/1/a b.txt").path == "/jobs/1/a%20b.txt")
    }

    @Test func customEndpointIsPathStyle() throws {
        let env = keys.merging(["S3_BUCKET": "b", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ENDPOINT_URL_S3": "http://minio:9000",
                                "AWS_SESSION_TOKEN": "t"]) { a, _ in a }
        let c = try #require(try S3Configuration.fromEnvironment(env))
        #expect(c.pathStyle && c.credentials.sessionToken == "t")
        #expect(c.location(key: "k") == ("http://minio:9000", "minio:9000", "/b/k"))
        let virtual = try #require(try S3Configuration.fromEnvironment(env.merging(["S3_FORCE_PATH_STYLE": "false"]) { _, b in b }))
        #expect(virtual.location(key: "k") == ("http://b.minio:9000", "b.minio:9000", "/k"))
    }

    @Test func gcsThroughItsXMLAPI() throws {
        let c = try #require(try S3Configuration.fromEnvironment(keys.merging(["GCS_BUCKET": "g"]) { a, _ in a }))
        #expect(c.endpoint == S3Configuration.gcsEndpoint && c.region == "auto" && !c.pathStyle)
    }

    @Test func refusalsNameTheVariable() {
        #expect(throws: S3Configuration.Invalid.self) { try S3Configuration.fromEnvironment(["S3_BUCKET": "b"]) }
        do {
            _ = try S3Configuration.fromEnvironment(keys.merging(["S3_BUCKET": "b", "AWS_ENDPOINT_URL": "minio:9000"]) { a, _ in a })
            Issue.record("accepted an endpoint without a scheme")
        } catch let error as S3Configuration.Invalid {
            #expect(error.variable == "AWS_ENDPOINT_URL")
        } catch { Issue.record("\(error)") }
        #expect(throws: S3Configuration.Invalid.self) {
            try S3Configuration.fromEnvironment(keys.merging(["S3_BUCKET": "b", "S3_FORCE_PATH_STYLE": "maybe"]) { a, _ in a })
        }
    }
}
