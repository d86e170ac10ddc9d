import Foundation
import Parallel
import Simulation

/// One bin of a measured spectrum, in GADGET-4's columns.
public struct PowerSpectrumBin: Sendable, Equatable {
    /// Geometric mean wavenumber of the modes in the bin.
    public var k: Double
    /// Δ²(k) = 4π k³ P(k) / (2π/L)³ in GADGET-4's convention (k³P/2π² with P in L³ units).
    public var delta2: Double
    /// P(k) / L³ (dimensionless).
    public var power: Double
    public var modes: Double
    /// Δ² of pure shot noise at this k.
    public var shotNoise: Double
}

/// A matter power spectrum as GADGET-4 measures it (POWERSPEC_ON_OUTPUT):
/// CIC on the PM mesh, deconvolved by sinc⁴ per axis, not corrected for shot
/// noise, in 4000 logarithmic bins from 2π/L to 2π/L · 256 · PMGRID/2, and
/// three times: for the box and for the box folded 16 and 256 times onto
/// itself (x → 16x mod L), which reaches 256× smaller scales with the same mesh.
public struct PowerSpectrum: Sendable {
    public static let foldFactor = 16
    public static let binCount = 4000

    /// One list of non-empty bins per folding (1, 16, 256).
    public var blocks: [[PowerSpectrumBin]]
    public var boxSize: Double
    public var meshSize: Int
    public var totalMass: Double
    public var particleCount: Int

    /// Measures the spectrum of all ranks' particles. Collective.
    public static func measure(positions: [IntegerPosition], particleMass: Double, boxSize: Double, meshSize: Int,
                               communicator: Communicator) -> PowerSpectrum {
        let fft = DistributedFFT(n: meshSize, communicator: communicator)
        let count = communicator.allreduce(positions.count, .sum)
        let totalMass = particleMass * Double(count)
        var blocks: [[PowerSpectrumBin]] = []
        var fold: UInt32 = 1
        for _ in 0..<3 {
            // Folding is exact on integer positions: multiplying wraps modulo the box.
            let points = positions.map { CloudInCell.cellUnits($0 &* fold, meshSize: meshSize) }
            CloudInCell.assignAll(points, weight: particleMass, into: fft)
            fft.forward()
            blocks.append(bins(fft: fft, fold: Double(fold), boxSize: boxSize, totalMass: totalMass,
                               particleCount: count, communicator: communicator))
            fold &*= UInt32(foldFactor)
        }
        return PowerSpectrum(blocks: blocks, boxSize: boxSize, meshSize: meshSize, totalMass: totalMass, particleCount: count)
    }

    private static func bins(fft: DistributedFFT, fold: Double, boxSize: Double, totalMass: Double, particleCount: Int,
                             communicator: Communicator) -> [PowerSpectrumBin] {
        let n = fft.n
        let fundamental = 2 * Double.pi / boxSize
        let kMin = fundamental
        let kMax = fundamental * Double(foldFactor * foldFactor) * Double(n) / 2
        let binsPerLog = Double(binCount) / log(kMax / kMin)
        // Per bin: Σ power, count, Σ ln k.
        var sums = [Double](repeating: 0, count: 3 * binCount)
        let halfCell = Double.pi / Double(n)  // k Δ / 2 for unit wavenumber index
        func sinc(_ m: Int) -> Double { m == 0 ? 1 : sin(Double(m) * halfCell) / (Double(m) * halfCell) }
        let massInverse2 = 1 / (totalMass * totalMass)
        for y in 0..<fft.localKPlanes {
            let my = fft.signedMode(y + fft.firstKPlane)
            for x in 0..<n {
                let mx = fft.signedMode(x)
                for z in 0...(n / 2) {
                    let m2 = mx * mx + my * my + z * z
                    if m2 == 0 { continue }
                    let k = fundamental * Double(m2).squareRoot() * fold
                    if k < kMin || k >= kMax { continue }
                    let i = fft.complexIndex(localKPlane: y, x, z)
                    let w = sinc(mx) * sinc(my) * sinc(z)
                    let w2 = w * w
                    let power = (fft.complex[i] * fft.complex[i] + fft.complex[i + 1] * fft.complex[i + 1]) * massInverse2 / (w2 * w2)
                    // Modes with 0 < kz < n/2 stand for their conjugates as well.
                    let weight = (z > 0 && 2 * z < n) ? 2.0 : 1.0
                    let bin = Int(log(k / kMin) * binsPerLog)
                    sums[3 * bin] += weight * power
                    sums[3 * bin + 1] += weight
                    sums[3 * bin + 2] += weight * log(k)
                }
            }
        }
        communicator.allreduceInPlace(&sums, .sum)
        var result: [PowerSpectrumBin] = []
        let volumeFactor = 4 * Double.pi / (fundamental * fundamental * fundamental)
        for bin in 0..<binCount where sums[3 * bin + 1] > 0 {
            let modes = sums[3 * bin + 1]
            let k = exp(sums[3 * bin + 2] / modes)
            let p = sums[3 * bin] / modes
            result.append(PowerSpectrumBin(k: k, delta2: volumeFactor * k * k * k * p, power: p, modes: modes,
                                           shotNoise: volumeFactor * k * k * k / Double(particleCount)))
        }
        return result
    }

    /// GADGET-4's `powerspec_NNN.txt`: per folding five header lines (a,
    /// bins, L, mesh, D(1)/D(a)) and the bins; then Σm, N and (Σm)²/Σm².
    public func text(scaleFactor: Double, growthToPresent: Double) -> String {
        func g(_ v: Double) -> String { String(format: "%g", v) }
        var out = ""
        for block in blocks {
            out += g(scaleFactor) + "\n" + String(block.count) + "\n" + g(boxSize) + "\n" + String(meshSize) + "\n"
            out += g(growthToPresent) + "\n"
            for b in block { out += "\(g(b.k)) \(g(b.delta2)) \(g(b.power)) \(g(b.modes)) \(g(b.shotNoise))\n" }
        }
        out += g(totalMass) + "\n" + g(Double(particleCount)) + "\n" + g(Double(particleCount)) + "\n"
        return out
    }

    /// Parses a GADGET-4 power spectrum file (the three blocks).
    public static func parse(_ text: String) -> [[PowerSpectrumBin]]? {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        var blocks: [[PowerSpectrumBin]] = []
        var i = 0
        while blocks.count < 3 && i + 5 <= lines.count {
            guard let bins = Int(lines[i + 1]) else { return nil }
            i += 5
            var block: [PowerSpectrumBin] = []
            for _ in 0..<bins {
                guard i < lines.count else { return nil }
                let v = lines[i].split(separator: " ").compactMap { Double($0) }
                guard v.count == 5 else { return nil }
                block.append(PowerSpectrumBin(k: v[0], delta2: v[1], power: v[2], modes: v[3], shotNoise: v[4]))
                i += 1
            }
            blocks.append(block)
        }
        return blocks.count == 3 ? blocks : nil
    }
}
