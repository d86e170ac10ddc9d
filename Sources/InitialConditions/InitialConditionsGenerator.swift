import Cosmology
import Foundation
import Parallel
import Simulation

/// What N-GenIC needs to know (GADGET-4's NGENIC parameters).
public struct InitialConditionsSpec: Sendable {
    public var particlesPerSide: Int       // NSample
    public var gridSize: Int               // GridSize
    public var seed: Int                   // Seed
    public var sphereMode: Bool            // SphereMode
    public var boxSize: Double
    public var scaleFactor: Double         // TimeBegin
    public var spectrum: LinearPowerSpectrum
    /// false for a table taken as already scaled to the initial time (ReNormalizeInputSpectrum 0).
    public var scaleSpectrumWithGrowth: Bool
    public var secondOrder: Bool           // NGENIC_2LPT
    public var background: Background
    public var hubble0: Double { background.hubble0 }

    public init(particlesPerSide: Int, gridSize: Int, seed: Int, sphereMode: Bool, boxSize: Double, scaleFactor: Double,
                spectrum: LinearPowerSpectrum, scaleSpectrumWithGrowth: Bool, secondOrder: Bool, background: Background) {
        self.particlesPerSide = particlesPerSide
        self.gridSize = gridSize
        self.seed = seed
        self.sphereMode = sphereMode
        self.boxSize = boxSize
        self.scaleFactor = scaleFactor
        self.spectrum = spectrum
        self.scaleSpectrumWithGrowth = scaleSpectrumWithGrowth
        self.secondOrder = secondOrder
        self.background = background
    }
}

/// N-GenIC-compatible initial conditions: a Gaussian random field with the
/// linear spectrum on an FFT grid, Zel'dovich displacements plus, with
/// NGENIC_2LPT, the second-order (2LPT) correction, applied to particles on
/// a regular grid (CREATE_GRID) with GADGET's IDs and velocity convention.
public enum InitialConditionsGenerator {
    /// The particles this rank holds (those on its FFT planes), as
    /// (position, u = v/√a, ID). Collective.
    public static func generate(_ spec: InitialConditionsSpec, communicator: Communicator)
        throws -> (positions: [SIMD3<Double>], velocities: [SIMD3<Double>], ids: [UInt64]) {
        let n = spec.gridSize, np = spec.particlesPerSide
        guard n % np == 0 else {
            throw InitialConditionsError("GridSize (\(n)) must be a multiple of NSample (\(np)) so particles sit on grid points")
        }
        let fft = DistributedFFT(n: n, communicator: communicator)
        let growth = LinearGrowth(spec.background)
        let a = spec.scaleFactor
        let d1 = spec.scaleSpectrumWithGrowth ? growth.normalizedGrowth(a) : 1
        let d2 = -3.0 / 7.0 * d1 * d1 * pow(spec.background.omegaMatter(at: a), -1.0 / 143.0)
        let f1 = growth.growthRate(a), f2 = growth.secondOrderGrowthRate(a)
        let hubble = spec.background.hubble(a)

        // δ(k) at a = 1 (or as tabulated), stored in the transposed layout.
        let delta = linearDensityModes(spec, fft: fft)
        // Ψ1 = i k δ / k², one real component at a time.
        // Wavenumbers are taken in grid units (mode indices); k/k² then needs L/2π.
        let lengthScale = spec.boxSize / (2 * Double.pi)
        let psi1 = (0..<3).map { axis in realField(fft, { kx, ky, kz, re, im in
            let k = [kx, ky, kz][axis], k2 = kx * kx + ky * ky + kz * kz
            return (-k * im / k2, k * re / k2)  // i k (re + i im) / k²
        }, from: delta) }
        let psi2 = spec.secondOrder ? secondOrderDisplacement(delta: delta, fft: fft) : []

        // Particles on the planes this rank owns: q = (i, j, k) L / NSample.
        let stride = n / np
        var positions: [SIMD3<Double>] = [], velocities: [SIMD3<Double>] = [], ids: [UInt64] = []
        let spacing = spec.boxSize / Double(np)
        let velocityFactor = a.squareRoot() * hubble  // u = v/√a, v = a H f D Ψ
        for plane in 0..<fft.localPlanes where (plane + fft.firstPlane) % stride == 0 {
            let i = (plane + fft.firstPlane) / stride
            for j in 0..<np {
                for k in 0..<np {
                    let cell = plane * n * n + (j * stride) * n + k * stride
                    var displacement = SIMD3(psi1[0][cell], psi1[1][cell], psi1[2][cell]) * (d1 * lengthScale)
                    var velocity = displacement * f1
                    if spec.secondOrder {
                        let second = SIMD3(psi2[0][cell], psi2[1][cell], psi2[2][cell]) * (d2 * lengthScale)
                        displacement += second
                        velocity += second * f2
                    }
                    let q = SIMD3(Double(i), Double(j), Double(k)) * spacing
                    var x = q + displacement
                    x -= spec.boxSize * (x / spec.boxSize).rounded(.down)  // into [0, L)
                    positions.append(x)
                    velocities.append(velocity * velocityFactor)
                    ids.append(1 + UInt64((i * np + j) * np + k))
                }
            }
        }
        return (positions, velocities, ids)
    }

    /// δ(k) with ⟨|δ_k|²⟩ = P(k)/L³ on the modes N-GenIC fills: |k| up to the
    /// particle Nyquist frequency (a sphere with SphereMode 1, else a cube),
    /// without the grid's own Nyquist planes. Conjugate pairs in the kz = 0
    /// plane get conjugate values so the field is real.
    static func linearDensityModes(_ spec: InitialConditionsSpec, fft: DistributedFFT) -> [Double] {
        let n = fft.n
        let nyquist = spec.particlesPerSide / 2
        let fundamental = 2 * Double.pi / spec.boxSize
        let volume = spec.boxSize * spec.boxSize * spec.boxSize
        let random = ModeRandomness(seed: UInt64(spec.seed))
        var modes = [Double](repeating: 0, count: fft.allocatedDoubles)
        for y in 0..<fft.localKPlanes {
            let my = fft.signedMode(y + fft.firstKPlane)
            for x in 0..<n {
                let mx = fft.signedMode(x)
                for mz in 0...(n / 2) {
                    if 2 * abs(mx) == n || 2 * abs(my) == n || 2 * mz == n { continue }
                    if mx == 0 && my == 0 && mz == 0 { continue }
                    let m2 = mx * mx + my * my + mz * mz
                    if spec.sphereMode {
                        if m2 > nyquist * nyquist { continue }
                    } else if abs(mx) > nyquist || abs(my) > nyquist || mz > nyquist {
                        continue
                    }
                    let k = fundamental * Double(m2).squareRoot()
                    let amplitude = (spec.spectrum.power(k) / volume).squareRoot()
                    // In the kz = 0 plane, (mx, my) and (−mx, −my) are one real pair: draw for the
                    // "positive" one and conjugate for the other.
                    let flip = mz == 0 && (my < 0 || (my == 0 && mx < 0))
                    let g = flip ? random.gaussian(-mx, -my, 0) : random.gaussian(mx, my, mz)
                    let i = fft.complexIndex(localKPlane: y, x, mz)
                    modes[i] = amplitude * g.re
                    modes[i + 1] = amplitude * (flip ? -g.im : g.im)
                }
            }
        }
        return modes
    }

    /// Fills Fourier space with `value(kx, ky, kz, Re δ, Im δ)` and returns the
    /// real field on this rank's planes (n × n per plane, unpadded).
    static func realField(_ fft: DistributedFFT, _ value: (Double, Double, Double, Double, Double) -> (Double, Double),
                          from delta: [Double]) -> [Double] {
        let n = fft.n
        for y in 0..<fft.localKPlanes {
            let ky = Double(fft.signedMode(y + fft.firstKPlane))
            for x in 0..<n {
                let kx = Double(fft.signedMode(x))
                for z in 0...(n / 2) {
                    let i = fft.complexIndex(localKPlane: y, x, z)
                    if delta[i] == 0 && delta[i + 1] == 0 {
                        fft.complex[i] = 0; fft.complex[i + 1] = 0
                        continue
                    }
                    let (re, im) = value(kx, ky, Double(z), delta[i], delta[i + 1])
                    fft.complex[i] = re
                    fft.complex[i + 1] = im
                }
            }
        }
        fft.backward()
        var out = [Double](repeating: 0, count: fft.localPlanes * n * n)
        for plane in 0..<fft.localPlanes {
            for y in 0..<n {
                let row = fft.realIndex(localPlane: plane, y, 0)
                for z in 0..<n { out[(plane * n + y) * n + z] = fft.real[row + z] }
            }
        }
        return out
    }

    /// Ψ2 = ∇φ2 with ∇²φ2 = Σ_{i<j} (φ,ii φ,jj − φ,ij²) and ∇²φ1 = δ
    /// (Scoccimarro 1998), in grid-unit wavenumbers like Ψ1 (so also × L/2π).
    static func secondOrderDisplacement(delta: [Double], fft: DistributedFFT) -> [[Double]] {
        // φ,ij(k) = k_i k_j δ / k².
        let pairs = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]
        let tensor = pairs.map { (p, q) in realField(fft, { kx, ky, kz, re, im in
            let k = [kx, ky, kz], k2 = kx * kx + ky * ky + kz * kz
            let f = k[p] * k[q] / k2
            return (f * re, f * im)
        }, from: delta) }
        // The source in real space; the backward transforms were unnormalised (×1 here, since δ(k)
        // were set as Fourier coefficients of δ(x) = Σ δ_k e^{ikx}).
        let count = tensor[0].count
        var source = [Double](repeating: 0, count: count)
        for c in 0..<count {
            let xx = tensor[0][c], yy = tensor[1][c], zz = tensor[2][c]
            let xy = tensor[3][c], xz = tensor[4][c], yz = tensor[5][c]
            source[c] = xx * yy + xx * zz + yy * zz - xy * xy - xz * xz - yz * yz
        }
        // To Fourier space: S(k) = (1/n³) Σ S(x) e^{−ikx}.
        let n = fft.n
        fft.clear()
        for plane in 0..<fft.localPlanes {
            for y in 0..<n {
                let row = fft.realIndex(localPlane: plane, y, 0)
                for z in 0..<n { fft.real[row + z] = source[(plane * n + y) * n + z] }
            }
        }
        fft.forward()
        let norm = 1 / Double(n * n * n)
        var sourceModes = [Double](repeating: 0, count: fft.allocatedDoubles)
        for i in 0..<fft.allocatedDoubles { sourceModes[i] = fft.complex[i] * norm }
        // Ψ2 = ∇φ2 = i k φ2 = −i k S / k².
        return (0..<3).map { axis in realField(fft, { kx, ky, kz, re, im in
            let k = [kx, ky, kz][axis], k2 = kx * kx + ky * ky + kz * kz
            if k2 == 0 { return (0, 0) }
            return (k * im / k2, -k * re / k2)  // −i k (re + i im) / k²
        }, from: sourceModes) }
    }
}

public struct InitialConditionsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
