// swift-tools-version: 6.1
import PackageDescription

import Foundation

/// Flags for the numerical modules: no errno on libm calls (so `sqrt` and
/// friends inline as in C) and, on x86-64, AVX2 + FMA for the SIMD force
/// kernels. G4_TARGET_CPU overrides the CPU (e.g. skylake-avx512, or x86-64
/// for a portable binary).
#if arch(x86_64)
let targetCPU = ProcessInfo.processInfo.environment["G4_TARGET_CPU"] ?? "haswell"
let cpuFlags = ["-target-cpu", targetCPU]
#else
let cpuFlags: [String] = []
#endif
let numericSettings: [SwiftSetting] = [
    .unsafeFlags(["-Xcc", "-fno-math-errno"] + cpuFlags),
]

let package = Package(
    name: "g4",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "g4sim", targets: ["g4sim"]),
        .executable(name: "g4api", targets: ["g4api"]),
        .executable(name: "g4sync", targets: ["g4sync"]),
        .executable(name: "g4", targets: ["g4"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The submission service (g4api).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // Scheduler templates (templates/).
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // The Kubernetes backend: TLS to the API server, kubeconfig (YAML).
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // The g4 CLI's HTTP layer, generated from g4api's OpenAPI document.
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client", from: "1.5.0"),
    ],
    targets: [
        // System libraries: pkg-config supplies include paths and link flags.
        .systemLibrary(name: "OpenMPILink", path: "Sources/SystemLibraries/MPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "HDF5Link", path: "Sources/SystemLibraries/HDF5", pkgConfig: "hdf5-openmpi",
                       providers: [.apt(["libhdf5-openmpi-dev"])]),
        .systemLibrary(name: "FFTWLink", path: "Sources/SystemLibraries/FFTW", pkgConfig: "fftw3",
                       providers: [.apt(["libfftw3-dev", "libfftw3-mpi-dev"])]),

        // C shims: the only code that touches C macros.
        .target(name: "CMPI", dependencies: ["OpenMPILink"]),
        .target(name: "CHDF5", dependencies: ["HDF5Link", "OpenMPILink"]),
        .target(name: "CFFTW", dependencies: ["FFTWLink", "OpenMPILink"],
                linkerSettings: [.linkedLibrary("fftw3_mpi"), .linkedLibrary("fftw3")]),

        .target(name: "Parallel", dependencies: ["CMPI"]),
        // What the solver and the service agree on: progress.json, file names, exit codes.
        .target(name: "RunContract"),
        .target(name: "Parameters"),
        .target(name: "Cosmology", swiftSettings: numericSettings),
        .target(name: "Simulation", dependencies: ["Parallel", "Cosmology", "CFFTW"], swiftSettings: numericSettings),
        .target(name: "InitialConditions", dependencies: ["Simulation", "Cosmology", "Parallel"], swiftSettings: numericSettings),
        .target(name: "Analysis", dependencies: ["Simulation", "Parallel"], swiftSettings: numericSettings),
        .target(name: "Snapshots", dependencies: ["Parallel", "Parameters", "Cosmology", "CHDF5", "CMPI"]),

        .executableTarget(
            name: "g4sim",
            dependencies: [
                "Parallel", "Parameters", "Cosmology", "Snapshots", "Simulation", "Analysis", "InitialConditions", "RunContract",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // The submission service: job model, store, backends, HTTP API, executable.
        .target(name: "Jobs", dependencies: ["Parameters", "RunContract"]),
        .target(name: "JobStore", dependencies: [
            "Jobs", "RunContract", .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "Scheduling", dependencies: [
            "Jobs", "RunContract", .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "Sync", dependencies: [
            "Jobs", "JobStore", "Scheduling", "RunContract", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "SubmissionAPI", dependencies: [
            "Jobs", "JobStore", "Scheduling", "RunContract", "Parameters", "Cosmology",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        // Results in S3 or GCS (its S3-compatible XML API): Signature V4, the S3 calls, a resumable uploader.
        .target(name: "ObjectStorage", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // One wiring for g4api, g4sync and the tests: configuration, store, backends, sync loops.
        .target(name: "ServiceSetup", dependencies: [
            "Jobs", "JobStore", "Scheduling", "Sync", "SubmissionAPI",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "g4api", dependencies: [
            "SubmissionAPI", "ServiceSetup", "JobStore", "Scheduling", "Sync", "Jobs",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .executableTarget(name: "g4sync", dependencies: [
            "ServiceSetup", "Sync",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),

        // The users' command-line client: an HTTP client and the code generated from
        // g4api's OpenAPI document (scripts/generate-client.sh), none of the server's modules.
        .executableTarget(name: "g4", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], exclude: ["openapi.yaml", "openapi-generator-config.yaml"]),

        .testTarget(name: "ParametersTests", dependencies: ["Parameters"]),
        .testTarget(name: "CosmologyTests", dependencies: ["Cosmology", "TestSupport"],
                    exclude: ["colossus_reference.py"]),
        .testTarget(name: "ParallelTests", dependencies: ["Parallel", "TestSupport", "g4sim"]),
        .testTarget(name: "SnapshotsTests", dependencies: ["Snapshots", "TestSupport", "g4sim"],
                    exclude: ["snapshot_check.py"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "InitialConditions", "Analysis", "Snapshots", "Cosmology", "Parallel", "TestSupport"],
                    exclude: ["fit_gadget_displacement.py"], swiftSettings: numericSettings),
        .testTarget(name: "AnalysisTests", dependencies: ["TestSupport", "g4sim"], exclude: ["fof_check.py"]),
        // Full simulations compared with GADGET-4 and analytic solutions (slow; run after the rest).
        .testTarget(name: "SolverValidationTests",
                    dependencies: ["Simulation", "Analysis", "Snapshots", "Cosmology", "Parallel", "TestSupport", "g4sim"],
                    exclude: ["production_check.py"]),
        .target(name: "TestSupport", dependencies: ["Parallel"], path: "Tests/TestSupport"),

        // The service's tests: a throwaway PostgreSQL server, real SQLite files, real processes.
        .target(name: "ServiceTestSupport", dependencies: [
            "JobStore", "Jobs", "Scheduling",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Tests/ServiceTestSupport"),
        // Against a real S3-compatible server (moto_server from the test venv, on 127.0.0.1).
        .testTarget(name: "ObjectStorageTests", dependencies: [
            "ObjectStorage", "ServiceTestSupport",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // k8s/ rendered by kustomize and checked against the strict schemas; docker/ checked against ldd.
        .testTarget(name: "DeploymentTests", dependencies: ["ServiceTestSupport", "TestSupport"], exclude: ["k8s_check.py"]),
        .testTarget(name: "JobsTests", dependencies: ["Jobs", "Parameters"]),
        .testTarget(name: "JobStoreTests", dependencies: [
            "JobStore", "Jobs", "ServiceTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "SyncTests", dependencies: ["Sync", "Scheduling", "Jobs"]),
        .testTarget(name: "SchedulingTests", dependencies: ["Scheduling", "Sync", "JobStore", "Jobs", "RunContract", "ServiceTestSupport", "g4sim"]),
        // Against a real Slurm cluster started by slurm/cluster (one node, and two in network namespaces).
        .testTarget(name: "SlurmTests", dependencies: [
            "Jobs", "Scheduling", "ServiceTestSupport", "TestSupport", "g4sim", "g4api", "g4sync",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        // Against the stand-in Kubernetes API server (fake_kube_api.py), which checks every Job against the strict schemas.
        .testTarget(name: "KubernetesTests", dependencies: [
            "Jobs", "Scheduling", "ServiceTestSupport", "g4sim", "g4api", "g4sync",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], exclude: ["fake_kube_api.py"]),
        .testTarget(name: "SubmissionAPITests", dependencies: [
            "SubmissionAPI", "JobStore", "Scheduling", "Sync", "Jobs", "RunContract", "ServiceSetup", "ServiceTestSupport",
            "TestSupport", "g4sim", "g4api", "g4sync", "g4",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
    ]
)
