import Foundation
import Parallel

/// The long-range part of gravity on a periodic mesh (PMGRID³), as GADGET-4
/// computes it: cloud-in-cell assignment, FFT, the Green's function −4πG/k²
/// smoothed by exp(−k² r_s²) and deconvolved for assignment and
/// interpolation, a four-point finite-difference gradient, and CIC
/// interpolation back to the particles.
public final class ParticleMesh {
    public let fft: DistributedFFT
    public let coordinates: IntegerCoordinates
    public let gravity: Double
    public let splitScale: Double
    public var n: Int { fft.n }
    /// The potential in Fourier space (transposed layout), kept between the component transforms.
    private var potential: [Double]
    /// Acceleration components on this rank's slab planes (n × n per plane, unpadded).
    private var field: [[Double]]

    public init(meshSize: Int, coordinates: IntegerCoordinates, gravity: Double, splitScale: Double, communicator: Communicator) {
        fft = DistributedFFT(n: meshSize, communicator: communicator)
        self.coordinates = coordinates
        self.gravity = gravity
        self.splitScale = splitScale
        potential = [Double](repeating: 0, count: fft.allocatedDoubles)
        field = [[Double]](repeating: [Double](repeating: 0, count: max(fft.localPlanes, 0) * meshSize * meshSize), count: 3)
    }

    @inline(__always)
    func cellUnits(_ p: IntegerPosition) -> SIMD3<Double> { CloudInCell.cellUnits(p, meshSize: n) }

    /// Long-range comoving accelerations at `targets` (indices into
    /// `positions`), from the mass of all `positions`. Collective.
    public func accelerations(positions: [IntegerPosition], particleMass: Double, targets: [Int]) -> [SIMD3<Double>] {
        computeField(positions: positions, particleMass: particleMass)
        return interpolate(targets.map { cellUnits(positions[$0]) })
    }

    /// Deposits mass, solves for the potential and its gradient on the slabs.
    func computeField(positions: [IntegerPosition], particleMass: Double) {
        let cellVolume = pow(coordinates.boxSize / Double(n), 3)
        let exchange = SlabExchange(points: positions.map(cellUnits), meshSize: n, planeOwner: fft.planeOwner,
                                    communicator: fft.communicator)
        CloudInCell.assign(exchange.received, weight: particleMass / cellVolume, into: fft)
        fft.forward()
        applyGreensFunction()
        for axis in 0..<3 { gradientComponent(axis) }
    }

    /// φ(k) = −4πG ρ(k) exp(−k² r_s²) / k² / W(k)², W the CIC window Π sinc²(k_i Δ/2).
    private func applyGreensFunction() {
        let n = self.n
        let fundamental = 2 * Double.pi / coordinates.boxSize
        let halfCell = 0.5 * coordinates.boxSize / Double(n)
        let rs2 = splitScale * splitScale
        let norm = -4 * Double.pi * gravity
        func sinc(_ k: Double) -> Double { let x = k * halfCell; return x == 0 ? 1 : sin(x) / x }
        for y in 0..<fft.localKPlanes {
            let ky = fundamental * Double(fft.signedMode(y + fft.firstKPlane))
            let sy = sinc(ky)
            for x in 0..<n {
                let kx = fundamental * Double(fft.signedMode(x))
                let sxy = sinc(kx) * sy
                for z in 0...(n / 2) {
                    let kz = fundamental * Double(z)
                    let k2 = kx * kx + ky * ky + kz * kz
                    let i = fft.complexIndex(localKPlane: y, x, z)
                    if k2 == 0 {
                        potential[i] = 0; potential[i + 1] = 0
                        continue
                    }
                    let w = sxy * sinc(kz)
                    let w2 = w * w
                    let factor = norm * exp(-k2 * rs2) / (k2 * w2 * w2)
                    potential[i] = fft.complex[i] * factor
                    potential[i + 1] = fft.complex[i + 1] * factor
                }
            }
        }
    }

    /// a_axis = −∂φ/∂x_axis with GADGET-4's four-point finite difference,
    /// −[8(φ₊₁ − φ₋₁) − (φ₊₂ − φ₋₂)] / 12Δ, applied in Fourier space where it
    /// is the multiplication by −i (8 sin kΔ − sin 2kΔ) / 6Δ (identical on a
    /// periodic mesh, and needs no ghost planes between slabs); transform
    /// back and keep on the slab.
    private func gradientComponent(_ axis: Int) {
        let n = self.n
        let cell = coordinates.boxSize / Double(n)
        // The difference operator per mode index along the axis.
        let operatorOfMode = (0..<n).map { i -> Double in
            let kd = 2 * Double.pi * Double(fft.signedMode(i)) / Double(n)
            return (8 * sin(kd) - sin(2 * kd)) / (6 * cell)
        }
        for y in 0..<fft.localKPlanes {
            let my = y + fft.firstKPlane
            for x in 0..<n {
                for z in 0...(n / 2) {
                    let k = operatorOfMode[axis == 0 ? x : (axis == 1 ? my : z)]
                    let i = fft.complexIndex(localKPlane: y, x, z)
                    // −i k (re + i im) = k im − i k re
                    fft.complex[i] = k * potential[i + 1]
                    fft.complex[i + 1] = -k * potential[i]
                }
            }
        }
        fft.backward()
        let scale = 1 / Double(n * n * n)
        field[axis].withUnsafeMutableBufferPointer { out in
            for plane in 0..<fft.localPlanes {
                for y in 0..<n {
                    let row = fft.realIndex(localPlane: plane, y, 0)
                    let base = (plane * n + y) * n
                    for z in 0..<n { out[base + z] = fft.real[row + z] * scale }
                }
            }
        }
    }

    /// CIC interpolation of the field at points (cell units), across slab
    /// owners. Each x-plane's four corners are summed on their own and the
    /// two plane sums added last, so the result is the same bits whether
    /// one rank holds both planes or two ranks hold one each.
    func interpolate(_ points: [SIMD3<Double>]) -> [SIMD3<Double>] {
        let exchange = SlabExchange(points: points, meshSize: n, planeOwner: fft.planeOwner, communicator: fft.communicator)
        let n = self.n
        let partial = exchange.received.map { u -> SIMD3<Double> in
            let i = Int(u.x), j = Int(u.y), k = Int(u.z)
            let dx = u.x - Double(i), dy = u.y - Double(j), dz = u.z - Double(k)
            var total: SIMD3<Double>? = nil
            for (a, wx) in [(i % n, 1 - dx), ((i + 1) % n, dx)] {
                let plane = a - fft.firstPlane
                if plane < 0 || plane >= fft.localPlanes { continue }
                var sum = SIMD3<Double>.zero
                for (b, wy) in [(j % n, 1 - dy), ((j + 1) % n, dy)] {
                    for (c, wz) in [(k % n, 1 - dz), ((k + 1) % n, dz)] {
                        let cell = (plane * n + b) * n + c
                        let w = wx * wy * wz
                        sum += w * SIMD3(field[0][cell], field[1][cell], field[2][cell])
                    }
                }
                total = total.map { $0 + sum } ?? sum
            }
            return total ?? .zero
        }
        return exchange.gatherBack(partial, pointCount: points.count)
    }
}
