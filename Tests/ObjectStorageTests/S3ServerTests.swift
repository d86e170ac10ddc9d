import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import ServiceTestSupport
import Testing
@testable import ObjectStorage

/// The client against moto_server, which checks each request's signature
/// with the keys of an IAM user it made (MotoTestServer.authenticated).
func client(_ server: MotoTestServer.Server, secret: String? = nil, accessKey: String? = nil) throws -> S3Client {
    let configuration = try #require(try S3Configuration.fromEnvironment([
        "S3_BUCKET": server.bucket, "AWS_ENDPOINT_URL": server.endpoint, "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": accessKey ?? server.accessKeyID, "AWS_SECRET_ACCESS_KEY": secret ?? server.secretAccessKey,
    ]))
    #expect(configuration.pathStyle)  // a custom endpoint defaults to path style
    return S3Client(configuration: configuration)
}

/// Random bytes, so a misplaced part or range shows (read from the kernel:
/// generating megabytes in a debug build would take seconds).
func pattern(_ count: Int) -> [UInt8] {
    guard count > 0, let urandom = FileHandle(forReadingAtPath: "/dev/urandom") else { return [] }
    defer { try? urandom.close() }
    return [UInt8](urandom.readData(ofLength: count))
}

@Suite struct S3ServerTests {
    @Test func objectsRoundTripWithRangesListingAndDelete() async throws {
        let server = try await MotoTestServer.authenticated.value
        let s3 = try client(server)
        let prefix = "jobs/\(UUID().uuidString)/"
        // Keys with the characters that canonical URIs get wrong: spaces, +, unicode, a $.
        let keys = [prefix + "snapshot_000.hdf5", prefix + "power spec+1 $ (ü).txt", prefix + "deep/er/log.txt"]
        let bodies = keys.indices.map { pattern(1000 + $0 * 77) }
        for (key, body) in zip(keys, bodies) {
            try await s3.putObject(key: key, body: body, metadata: ["sha256": SHA256.hash(data: body).hexString])
        }
        let head = try #require(try await s3.headObject(key: keys[1]))
        #expect(head.size == Int64(bodies[1].count))
        #expect(head.metadata["sha256"] == SHA256.hash(data: bodies[1]).hexString)

        let (whole, bytes) = try await s3.getObject(key: keys[1])
        #expect(bytes == bodies[1] && whole.size == Int64(bodies[1].count))
        let (ranged, slice) = try await s3.getObject(key: keys[0], range: 10...19)
        #expect(slice == Array(bodies[0][10...19]))
        #expect(ranged.size == Int64(bodies[0].count))  // from Content-Range: the object's size

        #expect(try await s3.listObjects(prefix: prefix).map(\.key).sorted() == keys.sorted())
        try await s3.deleteObject(key: keys[2])
        #expect(try await s3.headObject(key: keys[2]) == nil)
        #expect(try await s3.listObjects(prefix: prefix).count == 2)
        await #expect(throws: S3Error.self) { try await s3.getObject(key: keys[2]) }
    }

    @Test func multipartCallsAndAbort() async throws {
        let server = try await MotoTestServer.authenticated.value
        let s3 = try client(server)
        let key = "jobs/\(UUID().uuidString)/snap.hdf5"
        let first = pattern(ResultUploader.minimumPartSize), second = pattern(4321)
        let id = try await s3.createMultipartUpload(key: key)
        let etag1 = try await s3.uploadPart(key: key, uploadID: id, partNumber: 1, body: first)
        let etag2 = try await s3.uploadPart(key: key, uploadID: id, partNumber: 2, body: second)
        let listed = try await s3.listParts(key: key, uploadID: id)
        #expect(listed == [UploadedPart(number: 1, etag: etag1, size: Int64(first.count)),
                           UploadedPart(number: 2, etag: etag2, size: Int64(second.count))])
        #expect(try await s3.headObject(key: key) == nil)  // not visible before completion
        try await s3.completeMultipartUpload(key: key, uploadID: id, parts: listed)
        #expect(try await s3.getObject(key: key).1 == first + second)

        let abandoned = try await s3.createMultipartUpload(key: key + ".2")
        try await s3.abortMultipartUpload(key: key + ".2", uploadID: abandoned)
        do {
            _ = try await s3.listParts(key: key + ".2", uploadID: abandoned)
            Issue.record("an aborted upload still lists parts")
        } catch let error as S3Error {
            #expect(error.code == "NoSuchUpload" && error.status == 404)
        }
    }

    @Test func wrongSecretIsRefusedWithAnActionableError() async throws {
        let server = try await MotoTestServer.authenticated.value
        let s3 = try client(server, secret: "not-the-secret")
        do {
            try await s3.putObject(key: "jobs/refused", body: [1, 2, 3])
            Issue.record("a request signed with the wrong secret was accepted")
        } catch let error as S3Error {
            #expect(error.status == 403)
            #expect(error.code == "SignatureDoesNotMatch")
            #expect(error.description.contains("AWS_SECRET_ACCESS_KEY"))
            #expect(error.description.contains("PutObject 'jobs/refused'"))
        }
        do {
            _ = try await client(server, accessKey: "AKIAUNKNOWNKEY000000").listObjects(prefix: "jobs/")
            Issue.record("an unknown access key was accepted")
        } catch let error as S3Error {
            #expect(error.status == 403 && error.code == "InvalidAccessKeyId")
            #expect(error.description.contains("AWS_ACCESS_KEY_ID"))
        }
    }

    /// moto does not check query-string signatures, so this shows the URL's
    /// shape is one an S3 server serves; the signature itself is AWS's
    /// published example (SignatureV4Tests.presignedGet).
    @Test func presignedGetFetchedWithoutCredentials() async throws {
        let server = try await MotoTestServer.open.value
        let s3 = try client(server)
        let key = "jobs/\(UUID().uuidString)/fof tab+1.hdf5"
        let body = pattern(70_000)
        try await s3.putObject(key: key, body: body)
        let url = s3.presignedURL(key: key, expires: 600)
        let query = try #require(URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems)
        #expect(Set(query.map(\.name)) == ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                                           "X-Amz-SignedHeaders", "X-Amz-Signature"])
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url.absoluteString), timeout: .seconds(60))
        #expect(response.status.code == 200)
        #expect(Array(try await response.body.collect(upTo: 1 << 20).readableBytesView) == body)
    }
}
