import Cosmology
import Foundation

/// GADGET's integer timeline: ln a from TimeBegin to TimeMax in 2²⁹ ticks.
/// Time steps are powers of two ticks (time bins), so steps of different
/// bins nest exactly and synchronisation points are exact integers.
public struct Timeline: Sendable {
    public static let ticks: Int64 = 1 << 29
    public static let maxBin = 29

    public let beginScaleFactor: Double
    public let endScaleFactor: Double
    /// Δ ln a of one tick.
    public let logPerTick: Double

    public init(begin: Double, end: Double) {
        beginScaleFactor = begin
        endScaleFactor = end
        logPerTick = log(end / begin) / Double(Self.ticks)
    }

    public func scaleFactor(_ tick: Int64) -> Double {
        tick >= Self.ticks ? endScaleFactor : beginScaleFactor * exp(Double(tick) * logPerTick)
    }

    /// The tick nearest to scale factor a, clamped to the timeline.
    public func tick(_ a: Double) -> Int64 {
        let t = (log(a / beginScaleFactor) / logPerTick).rounded()
        return Int64(min(max(t, 0), Double(Self.ticks)))
    }

    /// The largest bin whose step does not exceed Δ ln a = `logStep`.
    public func bin(forLogStep logStep: Double) -> Int {
        let steps = logStep / logPerTick
        if !(steps >= 2) { return 0 }
        return min(Self.maxBin, Int(log2(steps).rounded(.down)))
    }
}

/// Drift and kick factors between ticks, cached: a step needs only a few
/// distinct intervals (one per active time bin), over and over.
public final class LeapfrogFactors {
    public let timeline: Timeline
    public let background: Background
    private var driftCache: [SIMD2<Int64>: Double] = [:]
    private var kickCache: [SIMD2<Int64>: Double] = [:]

    public init(timeline: Timeline, background: Background) {
        self.timeline = timeline
        self.background = background
    }

    /// ∫ dt / a² from tick t0 to t1 (negative when t1 < t0).
    public func drift(_ t0: Int64, _ t1: Int64) -> Double {
        if t0 == t1 { return 0 }
        if let v = driftCache[SIMD2(t0, t1)] { return v }
        let v = background.driftFactor(from: timeline.scaleFactor(t0), to: timeline.scaleFactor(t1))
        if driftCache.count > 100_000 { driftCache.removeAll() }
        driftCache[SIMD2(t0, t1)] = v
        return v
    }

    /// ∫ dt / a from tick t0 to t1.
    public func kick(_ t0: Int64, _ t1: Int64) -> Double {
        if t0 == t1 { return 0 }
        if let v = kickCache[SIMD2(t0, t1)] { return v }
        let v = background.kickFactor(from: timeline.scaleFactor(t0), to: timeline.scaleFactor(t1))
        if kickCache.count > 100_000 { kickCache.removeAll() }
        kickCache[SIMD2(t0, t1)] = v
        return v
    }
}
