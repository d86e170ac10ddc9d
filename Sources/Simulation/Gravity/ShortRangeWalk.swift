/// How the tree decides whether a node's multipole is accurate enough.
public enum OpeningCriterion: Sendable {
    /// Barnes–Hut: accept a node of side l at distance r if l < θ r.
    case geometric(theta: Double)
    /// GADGET's relative criterion: accept a node if its expected error is a
    /// small fraction α of the particle's own acceleration from the previous
    /// step (and l < θmax r). With quadrupole moments the expected error is
    /// the octupole term G M l³ / r⁵ (GADGET-4 uses this form for its
    /// MULTIPOLE_ORDER 3); measured against Ewald summation it gives the
    /// same force errors as the monopole form G M l² / r⁴ with 20-25 % fewer
    /// interactions (g4sim forcetest).
    case relative(accuracy: Double, thetaMax: Double)
}

/// Short-range gravity from the tree for a set of target particles.
///
/// Targets are processed in groups: one walk per group builds an
/// interaction list of particles and of nodes accepted for every target of
/// the group, then each target sums the list in a tight loop.
///
/// The walk gives bit-identical results on any number of ranks, although
/// each rank's tree holds only its own particles and the ghosts within
/// `acceptanceRadius` of its targets' cells, so nodes near the edge of that
/// region hold fewer particles than on one rank. Four rules make the lists
/// the same:
/// - A group is the active particles (of any rank) that share a tree leaf
///   and an octree cell at `groupLevel`; the cell lies inside the region a
///   rank holds completely, and so does the group, whatever the leaves.
/// - A node is accepted as a multipole only if it lies wholly within
///   `acceptanceRadius` of the group, so it is complete and its moments are
///   those of one rank.
/// - A leaf is accepted only if its parent lies within the acceptance
///   radius too: a leaf of a complete parent exists on every rank, but one
///   whose parent is cut by the region's edge may be part of a bigger leaf
///   elsewhere. Leaves that are opened list their particles one by one, and
///   only those within the cut-off of the group, which every rank holds.
/// - Nodes are opened in key order and leaves list their particles in key
///   order, so a subtree emits its particles in the same order however it is
///   split.
public struct ShortRangeWalk {
    public let tree: OctTree
    public let split: ForceSplit
    /// Comoving spline softening radius h = 2.8 ε.
    public let softeningRadius: Double
    public let criterion: OpeningCriterion
    /// Octree level of the cells that bound groups (side at most the cut-off).
    public let groupLevel: Int
    /// Accepted nodes lie wholly within this distance of their group; ranks
    /// must hold every particle within it of their targets' group cells.
    public let acceptanceRadius: Double

    /// Twice the cut-off. Nodes that reach beyond it are opened: at 1.5 times
    /// the cut-off that made 1.46 times the interactions of a walk without
    /// the rule, at twice the cut-off 1.03 times (g4sim forcetest on
    /// GADGET-4's z = 0 snapshot of the reference run). The price is a ghost
    /// region twice as deep as the cut-off.
    public static func acceptanceRadius(_ split: ForceSplit) -> Double { 2 * split.cutoff }

    /// The coarsest octree level whose cells are at most the cut-off.
    public static func groupLevel(_ split: ForceSplit, boxSize: Double) -> Int {
        var level = 0
        while level < PeanoHilbert.bitsPerDimension && boxSize / Double(1 << level) > split.cutoff { level += 1 }
        return level
    }

    public init(tree: OctTree, split: ForceSplit, softeningRadius: Double, criterion: OpeningCriterion) {
        self.tree = tree
        self.split = split
        self.softeningRadius = softeningRadius
        self.criterion = criterion
        groupLevel = Self.groupLevel(split, boxSize: tree.coordinates.boxSize)
        acceptanceRadius = Self.acceptanceRadius(split)
    }

    /// Short-range accelerations of the tree particles `targets` (indices
    /// into `tree.positions`). `activity[j]`, for every tree particle, is
    /// |a| of particle j from the previous step if it is active on its own
    /// rank (used by the relative criterion and to form the groups) and
    /// negative if not; targets must be active. Returns the accelerations
    /// and the number of interactions per target.
    public func accelerations(targets: [Int], activity: [Double]) -> (acceleration: [SIMD3<Double>], interactions: [Int]) {
        var result = [SIMD3<Double>](repeating: .zero, count: targets.count)
        var work = [Int](repeating: 0, count: targets.count)
        var slot = [Int32](repeating: -1, count: tree.positions.count)
        for (i, t) in targets.enumerated() { slot[t] = Int32(i) }
        var members: [Int] = []
        var list = InteractionList()
        let kernel = InteractionKernel(split: split, softeningRadius: softeningRadius)
        let particleScale = split.gravity * tree.particleMass
        let cellShift = UInt32(32 - groupLevel)
        for leaf in 0..<tree.nodeCount where tree.firstChild[leaf] < 0 && tree.count[leaf] > 0 {
            let s = Int(tree.start[leaf]), end = s + Int(tree.count[leaf])
            var runStart = s
            // One group per run of the leaf's particles in the same cell (runs are contiguous in key order).
            while runStart < end {
                let cell = tree.positions[runStart] &>> cellShift
                var runEnd = runStart + 1
                while runEnd < end && tree.positions[runEnd] &>> cellShift == cell { runEnd += 1 }
                defer { runStart = runEnd }
                members.removeAll(keepingCapacity: true)
                var hasTarget = false
                for j in runStart..<runEnd where activity[j] >= 0 {
                    members.append(j)
                    hasTarget = hasTarget || slot[j] >= 0
                }
                if !hasTarget { continue }
                let (lo, extent) = boundingBox(members)
                var minAcceleration = Double.infinity
                for j in members { minAcceleration = min(minAcceleration, activity[j]) }
                buildList(lo: lo, extent: extent, minAcceleration: minAcceleration, into: &list)
                for j in members where slot[j] >= 0 {
                    let i = Int(slot[j])
                    let t = tree.coordinates.separation(from: lo, to: tree.positions[j])
                    result[i] = particleScale * kernel.sumParticles(list, target: t) + split.gravity * kernel.sumNodes(list, target: t)
                    work[i] = list.particleCount + list.nodeCount
                }
            }
        }
        return (result, work)
    }

    /// The smallest periodic box [lo, lo + extent) holding the particles,
    /// grown one particle at a time in the given order.
    private func boundingBox(_ members: [Int]) -> (IntegerPosition, SIMD3<UInt64>) {
        var lo = tree.positions[members[0]]
        var extent = SIMD3<UInt64>(1, 1, 1)
        for j in members {
            let p = tree.positions[j]
            for axis in 0..<3 {
                let above = UInt64(p[axis] &- lo[axis])
                if above >= extent[axis] {
                    // Grow the box upwards, or move its corner down, whichever is shorter.
                    let below = UInt64(lo[axis] &- p[axis])
                    if above + 1 - extent[axis] <= below {
                        extent[axis] = above + 1
                    } else {
                        lo[axis] = p[axis]
                        extent[axis] += below
                    }
                }
            }
        }
        return (lo, extent)
    }

    /// Walks the tree once for a group occupying the box [lo, lo + extent),
    /// with GADGET-4's tests made conservative for every point of the box:
    /// a node is discarded if its cube lies beyond the cut-off, opened if the
    /// group is inside the node's safety box (within one side of its centre
    /// on every axis), within softening reach, if the opening criterion
    /// fails for the nearest point of the group, or if the node reaches
    /// beyond the acceptance radius; leaves list their particles.
    private func buildList(lo: IntegerPosition, extent: SIMD3<UInt64>, minAcceleration: Double,
                           into list: inout InteractionList) {
        list.removeAll()
        let coordinates = tree.coordinates
        let cutoff2 = split.cutoff * split.cutoff
        let acceptance2 = acceptanceRadius * acceptanceRadius
        let h2 = softeningRadius * softeningRadius
        var stack: [Int32] = [0]
        while let node = stack.popLast() {
            let n = Int(node)
            let c = Int(tree.count[n])
            if c == 0 { continue }
            let boxGap2 = tree.boxDistanceSquared(n, lo, extent)
            if boxGap2 >= cutoff2 { continue }  // wholly beyond the short-range cut-off
            let isLeaf = tree.firstChild[n] < 0
            // Wholly within the acceptance radius, the node (and for a leaf, its parent) is
            // complete on every rank: only then may it be accepted, or a leaf list all its particles.
            let complete = tree.farthestDistanceSquared(n, lo, extent, levelsUp: isLeaf ? 1 : 0) < acceptance2
            var open = c == 1 || !complete || boxGap2 <= h2 || tree.safetyBoxContains(n, lo, extent)
            if !open {
                let l = tree.side(n)
                let r2 = tree.pointBoxDistanceSquared(tree.centerOfMass[n], lo, extent)
                switch criterion {
                case .geometric(let theta):
                    open = l * l > theta * theta * r2
                case .relative(let accuracy, let thetaMax):
                    let mass = Double(c) * tree.particleMass
                    // Nodes carry quadrupoles, so the first neglected term is the octupole,
                    // of size G M l³ / r⁵: GADGET-4's criterion for MULTIPOLE_ORDER 3.
                    let r = r2.squareRoot()
                    open = split.gravity * mass * l * l * l > accuracy * minAcceleration * r2 * r2 * r
                        || l * l > thetaMax * thetaMax * r2
                }
            }
            if !open {
                list.appendNode(coordinates.separation(from: lo, to: tree.centerOfMass[n]),
                                mass: Double(c) * tree.particleMass, quadrupole: tree.quadrupole[n])
            } else if isLeaf {
                let s = Int(tree.start[n])
                for j in s..<(s + c) where complete || tree.pointBoxDistanceSquared(tree.positions[j], lo, extent) < cutoff2 {
                    list.appendParticle(coordinates.separation(from: lo, to: tree.positions[j]))
                }
            } else {
                // Pushed last to first, so children are opened in key order.
                let f = tree.firstChild[n]
                for child in stride(from: f + Int32(tree.childCount[n]) - 1, through: f, by: -1) { stack.append(child) }
            }
        }
        list.pad()
    }
}
