import Foundation

/// A tabulated spectrum as N-GenIC reads it: rows of log10 k and log10 Δ²(k),
/// interpolated linearly in log-log, zero outside the table.
public struct SpectrumTable: Sendable, Equatable {
    public let log10K: [Double]
    public let log10Delta2: [Double]

    public enum ParseError: Error, CustomStringConvertible {
        case unreadable(String), tooFewRows(String), notIncreasing(String, line: Int)
        public var description: String {
            switch self {
            case .unreadable(let p): "power spectrum table \(p) cannot be read"
            case .tooFewRows(let p): "power spectrum table \(p) needs at least two rows of 'log10(k) log10(Delta^2)'"
            case .notIncreasing(let p, let line): "power spectrum table \(p): k repeats at line \(line); k must differ between rows"
            }
        }
    }

    public init(log10K: [Double], log10Delta2: [Double]) {
        self.log10K = log10K
        self.log10Delta2 = log10Delta2
    }

    /// Reads pairs of numbers until the first line that is not one (as N-GenIC does), sorted by k.
    public static func load(path: String) throws -> SpectrumTable {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ParseError.unreadable(path) }
        var rows: [(Double, Double)] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let k = Double(fields[0]), let d = Double(fields[1]), k.isFinite, d.isFinite else { break }
            rows.append((k, d))
        }
        guard rows.count >= 2 else { throw ParseError.tooFewRows(path) }
        rows.sort { $0.0 < $1.0 }
        for i in 1..<rows.count where rows[i].0 == rows[i - 1].0 { throw ParseError.notIncreasing(path, line: i + 1) }
        return SpectrumTable(log10K: rows.map(\.0), log10Delta2: rows.map(\.1))
    }

    /// Δ²(k) at k in the table's units; 0 outside the table.
    public func delta2(_ k: Double) -> Double {
        let lk = log10(k)
        guard let first = log10K.first, let last = log10K.last, lk >= first, lk <= last else { return 0 }
        var lo = 0, hi = log10K.count - 1
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if lk < log10K[mid] { hi = mid } else { lo = mid }
        }
        let u = (lk - log10K[lo]) / (log10K[hi] - log10K[lo])
        return pow(10, (1 - u) * log10Delta2[lo] + u * log10Delta2[hi])
    }
}

/// The shape of the linear spectrum, one case per N-GenIC PowerSpectrumType.
public enum SpectrumShape: Sendable {
    /// 0: Efstathiou, Bond & White shape-Γ.
    case efstathiou(shapeGamma: Double)
    /// 1: Eisenstein & Hu without oscillations (N-GenIC's formula).
    case eisensteinHuNoWiggle(omegaMatter: Double, omegaBaryon: Double, h: Double)
    /// 2: a table of log10 k, log10 Δ²; `kUnitInHOverMpc` converts its k to h/Mpc.
    case table(SpectrumTable, kUnitInHOverMpc: Double)
    /// 3: Eisenstein & Hu with baryon acoustic oscillations (g4sim's addition).
    case eisensteinHu(omegaMatter: Double, omegaBaryon: Double, h: Double)
}

/// A linear matter power spectrum in the usual convention,
/// ⟨δ(k) δ*(k')⟩ = (2π)³ P(k) δ_D(k − k'), with Δ²(k) = k³ P(k) / (2π²).
/// Wavenumbers are in internal units (1/UnitLength), P in UnitLength³.
///
/// The amplitude is set by σ8 at a = 1 unless the spectrum is a table that is
/// taken as given (N-GenIC's ReNormalizeInputSpectrum = 0).
public struct LinearPowerSpectrum: Sendable {
    public let shape: SpectrumShape
    public let primordialIndex: Double
    /// Internal length unit in Mpc/h (1 for GADGET's usual units), to convert k.
    public let unitLengthInMpcOverH: Double
    /// Multiplies the shape; chosen by `normalized(toSigma8:)`.
    public private(set) var amplitude: Double = 1
    private let eisensteinHu: TransferFunctions.EisensteinHu?

    public init(shape: SpectrumShape, primordialIndex: Double = 1, unitLengthInCm: Double = 3.085678e24) {
        self.shape = shape
        self.primordialIndex = primordialIndex
        self.unitLengthInMpcOverH = unitLengthInCm / 3.085678e24
        if case .eisensteinHu(let om, let ob, let h) = shape {
            eisensteinHu = TransferFunctions.EisensteinHu(omegaMatter: om, omegaBaryon: ob, h: h)
        } else {
            eisensteinHu = nil
        }
    }

    /// Δ²(k) for k in internal units.
    public func delta2(_ k: Double) -> Double {
        guard k > 0 else { return 0 }
        let kh = k / unitLengthInMpcOverH  // h/Mpc
        let tilt = pow(k, primordialIndex - 1)
        let shaped: Double
        switch shape {
        case .efstathiou(let gamma):
            shaped = k * k * k * k * TransferFunctions.efstathiouSquared(k: kh, shapeGamma: gamma)
        case .eisensteinHuNoWiggle(let om, let ob, let h):
            let t = TransferFunctions.eisensteinHuNoWiggle(k: kh, omegaMatter: om, omegaBaryon: ob, h: h)
            shaped = k * k * k * k * t * t
        case .eisensteinHu:
            let t = eisensteinHu!.transfer(kh)
            shaped = k * k * k * k * t * t
        case .table(let table, let unit):
            shaped = table.delta2(kh / unit)
        }
        return amplitude * shaped * tilt
    }

    /// P(k) = 2π² Δ²(k) / k³.
    public func power(_ k: Double) -> Double {
        guard k > 0 else { return 0 }
        return 2 * Double.pi * Double.pi * delta2(k) / (k * k * k)
    }

    /// rms linear overdensity in spheres of radius R (internal units):
    /// σ² = ∫ Δ²(k) W²(kR) d ln k with the top-hat window W.
    public func sigma(radius r: Double) -> Double {
        let integrand = { (lnk: Double) -> Double in
            let k = exp(lnk)
            let w = Self.topHatWindow(k * r)
            return self.delta2(k) * w * w
        }
        var total = 0.0
        if case .table(let table, let unit) = shape {
            // Piecewise log-log interpolation: integrate table segment by segment.
            let lnUnit = log(unit * unitLengthInMpcOverH)
            for i in 0..<(table.log10K.count - 1) {
                let a = table.log10K[i] * M_LN10 + lnUnit, b = table.log10K[i + 1] * M_LN10 + lnUnit
                total += Quadrature.integrate(a, b, relativeTolerance: 1e-11, integrand)
            }
        } else {
            // Decades of ln k, so oscillations of W stay resolved; past 1e4/R the window kills it.
            var lo = log(1e-7 / r)
            let end = log(1e4 / r)
            while lo < end {
                let hi = min(lo + M_LN10 / 2, end)
                total += Quadrature.integrate(lo, hi, relativeTolerance: 1e-12, integrand)
                lo = hi
            }
        }
        return total.squareRoot()
    }

    /// The same shape with the amplitude that gives σ(8 Mpc/h) = `sigma8`.
    public func normalized(toSigma8 sigma8: Double) -> LinearPowerSpectrum {
        var copy = self
        copy.amplitude = 1
        let current = copy.sigma(radius: 8 / unitLengthInMpcOverH)
        copy.amplitude = sigma8 * sigma8 / (current * current)
        return copy
    }

    /// W(x) = 3 (sin x − x cos x) / x³, with its series near 0.
    @inline(__always)
    static func topHatWindow(_ x: Double) -> Double {
        if x < 1e-3 { return 1 - x * x / 10 }
        return 3 * (sin(x) - x * cos(x)) / (x * x * x)
    }
}
