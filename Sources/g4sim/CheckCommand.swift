import ArgumentParser
import Foundation
import Parallel
import Simulation

/// Checks a site operator runs to see that the MPI installation works
/// across nodes before trusting it with a long run.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the installation.",
        subcommands: [MPI.self, FFT.self])

    struct MPI: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mpi",
            abstract: "Exercise every collective operation g4sim uses and compare with the expected results.",
            discussion: "Run as: mpirun -np N g4sim check mpi. Exits with status 1 if any result is wrong.")

        func run() throws {
            let failures = try withMPI { world -> Int in
                let results = MPISelfTest.run(world)
                let failed = results.filter { !$0.passed }
                let totalFailed = world.allreduce(failed.count, .sum)
                if world.isRoot {
                    for r in results { emit("\(r.passed ? "ok  " : "FAIL") \(r.name)\(r.passed ? "" : ": \(r.detail)")") }
                    emit("\(world.size) ranks, \(results.count) checks, \(totalFailed) failures on all ranks")
                }
                return totalFailed
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }
}

extension CheckCommand {
    struct FFT: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fft",
            abstract: "Check the distributed FFT against closed forms, and print a fingerprint of its bits.",
            discussion: "Run as: mpirun -np N g4sim check fft. Exits with status 1 if a check fails.")

        @Option(help: "Grid cells per side.")
        var n: Int = 24

        func run() throws {
            let failures = try withMPI { world -> Int in
                let fft = DistributedFFT(n: n, communicator: world)
                var failed = 0
                // 1. A single cosine mode cos(2π k·x / n) with k = (1, 2, 3) transforms to n³/2 at ±k.
                fft.clear()
                for x in 0..<fft.localPlanes {
                    for y in 0..<n {
                        for z in 0..<n {
                            let phase = 2 * Double.pi * Double(1 * (x + fft.firstPlane) + 2 * y + 3 * z) / Double(n)
                            fft.real[fft.realIndex(localPlane: x, y, z)] = cos(phase)
                        }
                    }
                }
                fft.forward()
                var worst = 0.0
                for y in 0..<fft.localKPlanes {
                    for x in 0..<n {
                        for z in 0...(n / 2) {
                            let ky = y + fft.firstKPlane
                            let i = fft.complexIndex(localKPlane: y, x, z)
                            let expected = (x == 1 && ky == 2 && z == 3) ? Double(n * n * n) / 2 : 0
                            worst = max(worst, abs(fft.complex[i] - expected), abs(fft.complex[i + 1]))
                        }
                    }
                }
                worst = world.allreduce(worst, .max)
                let modeOK = worst < 1e-9 * Double(n * n * n)
                // 2. backward(forward(f)) = n³ f for a deterministic pseudo-random field.
                func value(_ x: Int, _ y: Int, _ z: Int) -> Double { sin(Double(x * 7919 + y * 104729 + z * 1299709)) }
                fft.clear()
                for x in 0..<fft.localPlanes { for y in 0..<n { for z in 0..<n {
                    fft.real[fft.realIndex(localPlane: x, y, z)] = value(x + fft.firstPlane, y, z)
                } } }
                fft.forward()
                // A fingerprint of every mode's bits in global order (ky planes are
                // contiguous in rank order): equal on any rank count.
                var bits: [UInt64] = []
                for y in 0..<fft.localKPlanes { for x in 0..<n { for z in 0...(n / 2) {
                    let i = fft.complexIndex(localKPlane: y, x, z)
                    bits += [fft.complex[i].bitPattern, fft.complex[i + 1].bitPattern]
                } } }
                var fingerprint: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a over 64-bit words
                for word in world.allgatherv(bits) { fingerprint = (fingerprint ^ word) &* 0x100_0000_01b3 }
                fft.backward()
                var roundTrip = 0.0
                for x in 0..<fft.localPlanes { for y in 0..<n { for z in 0..<n {
                    let got = fft.real[fft.realIndex(localPlane: x, y, z)] / Double(n * n * n)
                    roundTrip = max(roundTrip, abs(got - value(x + fft.firstPlane, y, z)))
                } } }
                roundTrip = world.allreduce(roundTrip, .max)
                let roundTripOK = roundTrip < 1e-12
                let planes = world.allreduce(fft.localPlanes, .sum)
                let coverOK = planes == n && fft.planeOwner.count == n
                if world.isRoot {
                    emit("\(modeOK ? "ok  " : "FAIL") single mode lands at +k with amplitude n³/2 (max error \(worst))")
                    emit("\(roundTripOK ? "ok  " : "FAIL") backward(forward(f)) = n³ f (max error \(roundTrip))")
                    emit("\(coverOK ? "ok  " : "FAIL") slabs cover all \(n) planes")
                    emit("forward transform fingerprint " + String(fingerprint, radix: 16))
                }
                failed = [modeOK, roundTripOK, coverOK].filter { !$0 }.count
                if world.isRoot { emit("\(world.size) ranks, n = \(n), \(failed) failures") }
                return failed
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }
}

/// Each collective with inputs whose correct result every rank can compute alone.
enum MPISelfTest {
    struct Result {
        let name: String
        let passed: Bool
        let detail: String
    }

    static func run(_ c: Communicator) -> [Result] {
        let r = c.rank, n = c.size
        var results: [Result] = []
        func check(_ name: String, _ ok: Bool, _ detail: @autoclosure () -> String) {
            results.append(Result(name: name, passed: ok, detail: ok ? "" : detail()))
        }
        c.barrier()
        let sum = c.allreduce(Double(r + 1), .sum)
        check("allreduce sum (Double)", sum == Double(n * (n + 1) / 2), "\(sum)")
        check("allreduce min (Int)", c.allreduce(r + 10, .min) == 10, "")
        check("allreduce max (Int32)", c.allreduce(Int32(r), .max) == Int32(n - 1), "")
        let big = (0..<1000).map { UInt64($0 * (r + 1)) }
        let bigSum = c.allreduce(big, .sum)
        check("allreduce array (UInt64)", bigSum == (0..<1000).map { UInt64($0 * n * (n + 1) / 2) }, "")
        check("exclusive scan", c.exclusiveScan(r + 1) == r * (r + 1) / 2, "\(c.exclusiveScan(r + 1))")
        check("allgather", c.allgather(Int32(r * r)) == (0..<n).map { Int32($0 * $0) }, "")
        // Ranks contribute r+1 copies of r: gatherv must concatenate in rank order.
        let gathered = c.allgatherv([Int](repeating: r, count: r + 1))
        check("allgatherv", gathered == (0..<n).flatMap { [Int](repeating: $0, count: $0 + 1) }, "\(gathered)")
        let text = c.broadcast(r == 0 ? "from root ✓" : "", root: 0)
        check("broadcast string", text == "from root ✓", text)
        // Particle-like structs: rank r sends (j + 1) items to rank j, each tagged with (source, dest, k).
        struct Item: Equatable { var source: Int32; var destination: Int32; var k: Int32; var payload: Double }
        var send: [Item] = []
        var counts: [Int] = []
        for j in 0..<n {
            counts.append(j + 1)
            for k in 0...j { send.append(Item(source: Int32(r), destination: Int32(j), k: Int32(k), payload: Double(r) + 0.5)) }
        }
        let received = c.alltoallv(send, sendCounts: counts)
        let expected = (0..<n).flatMap { s in (0...r).map { Item(source: Int32(s), destination: Int32(r), k: Int32($0), payload: Double(s) + 0.5) } }
        check("alltoallv of structs", received == expected, "\(received.count) items")
        if let sub = c.split(color: r % 2, key: r) {
            check("split", sub.size == (n + 1 - r % 2) / 2 && sub.rank == r / 2, "size \(sub.size) rank \(sub.rank)")
            sub.free()
        }
        return results
    }
}
