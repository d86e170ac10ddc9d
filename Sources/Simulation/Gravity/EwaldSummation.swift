import Foundation

/// Exact periodic gravity by Ewald summation (Hernquist, Bouchet & Suto
/// 1991), for checking TreePM forces: a real-space sum over the 27 nearest
/// images with erfc(αr) and a Fourier sum up to |n| ≤ 4 with
/// exp(−k²/4α²), α = 2.5/L. The neglected real-space images (r ≥ 1.5 L)
/// weigh erfc(3.75) + 4.2 e^(−14) < 1e-5 of a pair force, the neglected
/// waves e^(−π² 17/6.25) < 3e-12. Results agree for α = 2/L, 2.5/L, 3/L. Close
/// pairs are softened like the solver's (spline, h = 2.8 ε).
public struct EwaldSummation {
    public let coordinates: IntegerCoordinates
    public let gravity: Double
    public let particleMass: Double
    public let softeningRadius: Double
    /// Every particle of the box.
    public let sources: [IntegerPosition]
    private let alpha: Double
    private var waves: [(k: SIMD3<Double>, weight: Double, re: Double, im: Double)] = []

    public init(sources: [IntegerPosition], coordinates: IntegerCoordinates, gravity: Double,
                particleMass: Double, softeningRadius: Double) {
        self.sources = sources
        self.coordinates = coordinates
        self.gravity = gravity
        self.particleMass = particleMass
        self.softeningRadius = softeningRadius
        let box = coordinates.boxSize
        alpha = 2.5 / box
        // Structure factors S(k) = Σ_j e^{−i k·x_j} for the Fourier part.
        let real = sources.map { coordinates.real($0) }
        for nx in -4...4 {
            for ny in -4...4 {
                for nz in -4...4 {
                    let n2 = nx * nx + ny * ny + nz * nz
                    if n2 == 0 || n2 > 16 { continue }
                    let k = SIMD3(Double(nx), Double(ny), Double(nz)) * (2 * Double.pi / box)
                    let k2 = (k * k).sum()
                    let weight = exp(-k2 / (4 * alpha * alpha)) / k2
                    var re = 0.0, im = 0.0
                    for x in real {
                        let phase = (k * x).sum()
                        re += cos(phase)
                        im -= sin(phase)
                    }
                    waves.append((k, weight, re, im))
                }
            }
        }
    }

    /// The comoving acceleration at the position of particle `target` (an index into `sources`).
    public func acceleration(of target: Int) -> SIMD3<Double> {
        let box = coordinates.boxSize
        let x = sources[target]
        var real = SIMD3<Double>.zero
        let twoOverSqrtPi = 1.1283791670955126
        for (j, y) in sources.enumerated() where j != target {
            let r0 = coordinates.separation(from: y, to: x)  // x − y, nearest image
            for ix in -1...1 {
                for iy in -1...1 {
                    for iz in -1...1 {
                        let r = r0 + SIMD3(Double(ix), Double(iy), Double(iz)) * box
                        let d2 = (r * r).sum()
                        let d = d2.squareRoot()
                        let ad = alpha * d
                        var factor = (erfc(ad) + twoOverSqrtPi * ad * exp(-ad * ad)) / (d2 * d)
                        if ix == 0 && iy == 0 && iz == 0 && d < softeningRadius {
                            // Replace the Newtonian nearest image by the softened one.
                            factor += ForceSplit.softenedInverseCube(r: d, h: softeningRadius) - 1 / (d2 * d)
                        }
                        real += factor * r
                    }
                }
            }
        }
        // Fourier part: Σ_k (k/k²) e^{−k²/4α²} sin(k·(x − x_j)) = Im(e^{ik·x} S(k)).
        let xr = coordinates.real(x)
        var fourier = SIMD3<Double>.zero
        for w in waves {
            let phase = (w.k * xr).sum()
            let s = sin(phase) * w.re + cos(phase) * w.im
            fourier += (w.weight * s) * w.k
        }
        fourier *= 4 * Double.pi / (box * box * box)
        return -gravity * particleMass * (real + fourier)
    }
}
