/// An oct-tree over particles sorted by Peano–Hilbert key. Because every
/// octree cell is one contiguous key interval, a node is simply an index
/// range [start, start + count) of the sorted particles, and its children
/// are consecutive sub-ranges: building is a linear scan per level.
///
/// Nodes carry monopole and quadrupole moments (all particles have the same
/// mass, so a node's mass is its count times the particle mass).
public struct OctTree: Sendable {
    /// Particles the tree was built over, in key order.
    public let positions: [IntegerPosition]
    public let coordinates: IntegerCoordinates
    public let particleMass: Double

    // Node arrays (struct of arrays), node 0 is the root.
    public private(set) var start: [Int32] = []
    public private(set) var count: [Int32] = []
    /// Index of the first child, or −1 for a leaf; children are stored consecutively.
    public private(set) var firstChild: [Int32] = []
    public private(set) var childCount: [UInt8] = []
    public private(set) var level: [UInt8] = []
    /// Lower corner of the node's cube.
    public private(set) var corner: [IntegerPosition] = []
    /// Centre of mass.
    public private(set) var centerOfMass: [IntegerPosition] = []
    /// Second moments about the centre of mass, Σ m y_j y_k, as (xx, yy, zz, xy, xz, yz).
    public private(set) var quadrupole: [SIMD8<Double>] = []

    public var nodeCount: Int { start.count }

    /// Cube side of node n in length units.
    @inline(__always)
    public func side(_ n: Int) -> Double { Double(UInt64(1) << UInt64(32 - Int(level[n]))) * coordinates.lengthPerUnit }

    /// Builds the tree. `keys` must be sorted and belong to `positions`.
    /// Leaves hold at most `leafCapacity` particles (fewer only at full depth).
    public init(positions: [IntegerPosition], keys: [UInt64], coordinates: IntegerCoordinates,
                particleMass: Double, leafCapacity: Int = 16) {
        precondition(positions.count == keys.count)
        self.positions = positions
        self.coordinates = coordinates
        self.particleMass = particleMass
        let n = positions.count
        reserveNodes(max(1, 2 * n / max(leafCapacity, 1) + 8))
        appendNode(start: 0, count: n, level: 0, corner: .zero)
        // Breadth-first: split nodes in order; children of node i are appended consecutively.
        var i = 0
        while i < start.count {
            let c = Int(count[i]), lvl = Int(level[i])
            if c > leafCapacity && lvl < PeanoHilbert.bitsPerDimension {
                let first = Int(start[i])
                let shift = UInt64(3 * (PeanoHilbert.bitsPerDimension - lvl - 1))
                firstChild[i] = Int32(start.count)
                var j = first
                var children: UInt8 = 0
                while j < first + c {
                    let octant = (keys[j] >> shift) & 7
                    var k = j + 1
                    while k < first + c && (keys[k] >> shift) & 7 == octant { k += 1 }
                    let childLevel = lvl + 1
                    let mask = ~UInt32(0) << UInt32(32 - childLevel)
                    let p = positions[j]
                    appendNode(start: j, count: k - j, level: childLevel, corner: IntegerPosition(p.x & mask, p.y & mask, p.z & mask))
                    children += 1
                    j = k
                }
                childCount[i] = children
            }
            i += 1
        }
        computeMoments()
    }

    private mutating func reserveNodes(_ n: Int) {
        start.reserveCapacity(n); count.reserveCapacity(n); firstChild.reserveCapacity(n); childCount.reserveCapacity(n)
        level.reserveCapacity(n); corner.reserveCapacity(n); centerOfMass.reserveCapacity(n); quadrupole.reserveCapacity(n)
    }

    private mutating func appendNode(start s: Int, count c: Int, level l: Int, corner k: IntegerPosition) {
        start.append(Int32(s)); count.append(Int32(c)); firstChild.append(-1); childCount.append(0)
        level.append(UInt8(l)); corner.append(k); centerOfMass.append(k); quadrupole.append(.zero)
    }

    /// Moments bottom-up: leaves from their particles, inner nodes from
    /// their children with the parallel-axis theorem. Children always come
    /// after their parent, so a reverse sweep visits children first. All
    /// offsets are taken inside the node's own cube (unsigned distance from
    /// its corner), so even nodes as large as the box are measured correctly.
    private mutating func computeMoments() {
        let m = particleMass
        let unit = coordinates.lengthPerUnit
        @inline(__always) func offset(_ p: IntegerPosition, from corner: IntegerPosition) -> SIMD3<Double> {
            let d = p &- corner
            return SIMD3(Double(d.x), Double(d.y), Double(d.z)) * unit
        }
        @inline(__always) func outer(_ y: SIMD3<Double>) -> SIMD8<Double> {
            SIMD8(y.x * y.x, y.y * y.y, y.z * y.z, y.x * y.y, y.x * y.z, y.y * y.z, 0, 0)
        }
        for node in stride(from: start.count - 1, through: 0, by: -1) {
            let c = Int(count[node])
            guard c > 0 else { continue }
            let origin = corner[node]
            var sum = SIMD3<Double>.zero
            if firstChild[node] < 0 {
                for j in Int(start[node])..<(Int(start[node]) + c) { sum += offset(positions[j], from: origin) }
            } else {
                let first = Int(firstChild[node])
                for child in first..<(first + Int(childCount[node])) {
                    sum += Double(count[child]) * offset(centerOfMass[child], from: origin)
                }
            }
            let com = sum / Double(c)
            centerOfMass[node] = origin &+ SIMD3<UInt32>(truncatingIfNeeded: SIMD3<Int64>((com / unit).rounded(.toNearestOrEven)))
            var q = SIMD8<Double>.zero
            if firstChild[node] < 0 {
                for j in Int(start[node])..<(Int(start[node]) + c) { q += outer(offset(positions[j], from: origin) - com) }
                q *= m
            } else {
                let first = Int(firstChild[node])
                for child in first..<(first + Int(childCount[node])) {
                    let d = offset(centerOfMass[child], from: origin) - com
                    q += quadrupole[child] + (Double(count[child]) * m) * outer(d)
                }
            }
            quadrupole[node] = q
        }
    }

    /// Whether some point of the box [lo, lo + extent) lies within one side
    /// of node n's centre on every axis (GADGET-4's safety box, twice the node).
    @inline(__always)
    public func safetyBoxContains(_ n: Int, _ lo: IntegerPosition, _ extent: SIMD3<UInt64>) -> Bool {
        let side = UInt64(1) << UInt64(32 - Int(level[n]))
        let half = UInt32(truncatingIfNeeded: side / 2)
        for axis in 0..<3 {
            let center = corner[n][axis] &+ half
            // Distance below `side` means inside the doubled cube (which spans 2·side).
            if side >= UInt64(1) << 31 { continue }  // the doubled cube covers the whole axis
            let safetyLo = center &- UInt32(side)
            if axisGap(safetyLo, 2 * side, lo[axis], extent[axis]) > 0 { return false }
        }
        return true
    }

    /// Indices of the particles within `radius` of the box [lo, lo + extent)
    /// (integer corner and extent per axis), nearest image.
    public func particles(near lo: IntegerPosition, extent: SIMD3<UInt64>, radius: Double) -> [Int] {
        var found: [Int] = []
        let r2 = radius * radius
        var stack: [Int32] = [0]
        while let node = stack.popLast() {
            let n = Int(node)
            if count[n] == 0 || boxDistanceSquared(n, lo, extent) > r2 { continue }
            if firstChild[n] < 0 {
                for j in Int(start[n])..<(Int(start[n]) + Int(count[n])) where pointBoxDistanceSquared(positions[j], lo, extent) <= r2 {
                    found.append(j)
                }
            } else {
                let f = Int(firstChild[n])
                for child in f..<(f + Int(childCount[n])) { stack.append(Int32(child)) }
            }
        }
        return found
    }

    /// Indices of the particles within `radius` of any of the cubes (lower
    /// corner and side), nearest image. One descent for all cubes: each node
    /// carries on only the cubes near it, and takes all its particles at once
    /// when it lies wholly within reach of one.
    public func particles(nearAny cubes: [(corner: IntegerPosition, side: UInt64)], radius: Double) -> [Int] {
        var found: [Int] = []
        let r2 = radius * radius
        func visit(_ n: Int, _ candidates: [Int]) {
            let first = Int(start[n]), c = Int(count[n])
            if c == 0 { return }
            var near: [Int] = []
            for k in candidates {
                let extent = SIMD3(repeating: cubes[k].side)
                if boxDistanceSquared(n, cubes[k].corner, extent) > r2 { continue }
                if farthestDistanceSquared(n, cubes[k].corner, extent) <= r2 {
                    found.append(contentsOf: first..<(first + c))
                    return
                }
                near.append(k)
            }
            if near.isEmpty { return }
            if firstChild[n] < 0 {
                for j in first..<(first + c) where near.contains(where: {
                    pointBoxDistanceSquared(positions[j], cubes[$0].corner, SIMD3(repeating: cubes[$0].side)) <= r2
                }) {
                    found.append(j)
                }
            } else {
                let f = Int(firstChild[n])
                for child in f..<(f + Int(childCount[n])) { visit(child, near) }
            }
        }
        visit(0, Array(cubes.indices))
        return found
    }

    /// Gap between two boxes along one periodic axis, in integer units.
    @inline(__always)
    func axisGap(_ aLo: UInt32, _ aExtent: UInt64, _ bLo: UInt32, _ bExtent: UInt64) -> UInt64 {
        let full = UInt64(1) << 32
        if aExtent + bExtent >= full { return 0 }
        // Distance from a's end to b's start, and from b's end to a's start, going up.
        let ab = UInt64(bLo &- aLo)  // b's start above a's start
        if ab < aExtent { return 0 }
        let ba = UInt64(aLo &- bLo)
        if ba < bExtent { return 0 }
        return min(ab - aExtent, ba - bExtent)
    }

    @inline(__always)
    func boxDistanceSquared(_ n: Int, _ lo: IntegerPosition, _ extent: SIMD3<UInt64>) -> Double {
        let side = UInt64(1) << UInt64(32 - Int(level[n]))
        var d2 = 0.0
        for axis in 0..<3 {
            let g = Double(axisGap(corner[n][axis], side, lo[axis], extent[axis])) * coordinates.lengthPerUnit
            d2 += g * g
        }
        return d2
    }

    /// An upper bound of the squared distance between any point of node n
    /// (or of its ancestor `levelsUp` levels up) and any point of the box
    /// [lo, lo + extent): per axis, the gap plus both extents.
    @inline(__always)
    func farthestDistanceSquared(_ n: Int, _ lo: IntegerPosition, _ extent: SIMD3<UInt64>, levelsUp: Int = 0) -> Double {
        let cubeLevel = max(Int(level[n]) - levelsUp, 0)
        let side = UInt64(1) << UInt64(32 - cubeLevel)
        let mask = cubeLevel == 0 ? UInt32(0) : ~UInt32(0) << UInt32(32 - cubeLevel)
        let cubeCorner = corner[n] & IntegerPosition(repeating: mask)
        var d2 = 0.0
        for axis in 0..<3 {
            let far = Double(axisGap(cubeCorner[axis], side, lo[axis], extent[axis]) + side + extent[axis]) * coordinates.lengthPerUnit
            d2 += far * far
        }
        return d2
    }

    @inline(__always)
    func pointBoxDistanceSquared(_ p: IntegerPosition, _ lo: IntegerPosition, _ extent: SIMD3<UInt64>) -> Double {
        var d2 = 0.0
        for axis in 0..<3 {
            let g = Double(axisGap(p[axis], 1, lo[axis], extent[axis])) * coordinates.lengthPerUnit
            d2 += g * g
        }
        return d2
    }
}
