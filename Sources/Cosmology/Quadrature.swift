/// Adaptive Gauss–Kronrod (7/15-point) integration of smooth functions, the
/// workhorse behind growth factors, drift/kick factors and σ(R).
public enum Quadrature {
    /// ∫ f(x) dx over [a, b] to relative accuracy `relativeTolerance` (or the
    /// absolute `absoluteTolerance`, whichever is looser). Globally adaptive,
    /// like QUADPACK's QAG: the interval with the largest error estimate is
    /// bisected until the summed error meets the tolerance or `maxIntervals`
    /// is reached, so the cost is bounded even where the tolerance is not met.
    public static func integrate(_ a: Double, _ b: Double, relativeTolerance: Double = 1e-10,
                                 absoluteTolerance: Double = 0, maxIntervals: Int = 2000,
                                 _ f: (Double) -> Double) -> Double {
        if a == b { return 0 }
        var intervals = [(a: Double, b: Double, value: Double, error: Double)]()
        let first = kronrod(a, b, f)
        intervals.append((a, b, first.value, first.error))
        var total = first.value, totalError = first.error
        while intervals.count < maxIntervals {
            // Round-off floor: no estimate is better than ~50 ulps of the result.
            let tolerance = max(absoluteTolerance, relativeTolerance * abs(total), 50 * Double.ulpOfOne * abs(total))
            if totalError <= tolerance { break }
            var worst = 0
            for i in intervals.indices where intervals[i].error > intervals[worst].error { worst = i }
            let w = intervals[worst]
            let mid = 0.5 * (w.a + w.b)
            if mid <= w.a || mid >= w.b { break }  // interval cannot be split further
            let left = kronrod(w.a, mid, f), right = kronrod(mid, w.b, f)
            intervals[worst] = (w.a, mid, left.value, left.error)
            intervals.append((mid, w.b, right.value, right.error))
            total += left.value + right.value - w.value
            totalError += left.error + right.error - w.error
        }
        // Re-sum to shed the drift of the running updates.
        return intervals.reduce(0) { $0 + $1.value }
    }

    /// One 15-point Kronrod estimate with the embedded 7-point Gauss rule's difference as error.
    private static func kronrod(_ a: Double, _ b: Double, _ f: (Double) -> Double) -> (value: Double, error: Double) {
        let center = 0.5 * (a + b)
        let half = 0.5 * (b - a)
        let fc = f(center)
        var kronrodSum = fc * kronrodWeights[7]
        var gaussSum = fc * gaussWeights[3]
        for i in 0..<7 {
            let dx = half * kronrodNodes[i]
            let pair = f(center - dx) + f(center + dx)
            kronrodSum += kronrodWeights[i] * pair
            if i % 2 == 1 { gaussSum += gaussWeights[i / 2] * pair }
        }
        let value = kronrodSum * half
        return (value, abs(value - gaussSum * half))
    }

    private static let kronrodNodes: [Double] = [
        0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
        0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
        0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
        0.207784955007898467600689403773245, 0.0,
    ]
    private static let kronrodWeights: [Double] = [
        0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
        0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
        0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
        0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
    ]
    /// Weights of the 7-point Gauss rule at Kronrod nodes 1, 3, 5 and 7 (the centre).
    private static let gaussWeights: [Double] = [
        0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
        0.381830050505118944950369775488975, 0.417959183673469387755102040816327,
    ]
}
