import Foundation
import Testing
@testable import Simulation

@Suite struct PeanoHilbertCurve {
    /// On a 16³ lattice of cells, consecutive keys must be face neighbours
    /// (the defining property of a Hilbert curve), and key → position → key
    /// must round-trip.
    @Test func consecutiveCellsAreNeighbours() {
        let shift: UInt32 = 28  // 16 cells per side: the top 4 bits
        var cells: [(UInt64, SIMD3<Int>)] = []
        for x in 0..<16 { for y in 0..<16 { for z in 0..<16 {
            let p = IntegerPosition(UInt32(x) << shift, UInt32(y) << shift, UInt32(z) << shift)
            cells.append((PeanoHilbert.key(p), SIMD3(x, y, z)))
        } } }
        cells.sort { $0.0 < $1.0 }
        #expect(Set(cells.map(\.0)).count == 4096)
        for i in 1..<cells.count {
            let d = cells[i].1 &- cells[i - 1].1
            #expect(abs(d.x) + abs(d.y) + abs(d.z) == 1, "cells \(cells[i - 1].1) → \(cells[i].1)")
        }
        for (key, cell) in cells.prefix(500) {
            let p = PeanoHilbert.position(key)
            #expect(p == IntegerPosition(UInt32(cell.x) << shift, UInt32(cell.y) << shift, UInt32(cell.z) << shift))
        }
    }

    /// Every octree cell is one aligned key interval: all points of a level-3
    /// cube share their top 9 key bits.
    @Test func octreeCellsAreKeyIntervals() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let corner = IntegerPosition(UInt32.random(in: 0..<8, using: &generator) << 29,
                                         UInt32.random(in: 0..<8, using: &generator) << 29,
                                         UInt32.random(in: 0..<8, using: &generator) << 29)
            let prefix = PeanoHilbert.key(corner) >> 54
            for _ in 0..<20 {
                let offset = IntegerPosition(UInt32.random(in: 0..<(1 << 29), using: &generator),
                                             UInt32.random(in: 0..<(1 << 29), using: &generator),
                                             UInt32.random(in: 0..<(1 << 29), using: &generator))
                #expect(PeanoHilbert.key(corner | offset) >> 54 == prefix)
            }
        }
    }
}

@Suite struct IntegerPositions {
    @Test func nearestImageAndWrapping() {
        let c = IntegerCoordinates(boxSize: 50)
        let a = c.integer(SIMD3(1, 49, 25)), b = c.integer(SIMD3(49, 1, 25))
        let d = c.separation(from: a, to: b)
        #expect(abs(d.x + 2) < 1e-7 && abs(d.y - 2) < 1e-7 && abs(d.z) < 1e-7)
        #expect(abs(c.real(c.integer(-0.5)) - 49.5) < 1e-7)
        #expect(abs(c.real(c.integer(100.25)) - 0.25) < 1e-7)
        let moved = c.moved(a, by: SIMD3(-3, 2, 1000))
        let back = c.real(moved)
        #expect(abs(back.x - 48) < 1e-6 && abs(back.y - 1) < 1e-6 && abs(back.z - 25) < 1e-6)
    }
}

@Suite struct TreeMoments {
    /// Node masses, centres of mass and second moments from the bottom-up
    /// parallel-axis sums equal direct sums over each node's particles.
    @Test func momentsMatchDirectSums() {
        let coordinates = IntegerCoordinates(boxSize: 10)
        var generator = SystemRandomNumberGenerator()
        var positions = (0..<3000).map { _ in
            // Clustered: half the points in a small clump that straddles the periodic edge.
            Bool.random(using: &generator)
                ? coordinates.integer(SIMD3(Double.random(in: -0.3..<0.3, using: &generator), Double.random(in: 4..<5, using: &generator), 5))
                : coordinates.integer(SIMD3(Double.random(in: 0..<10, using: &generator), Double.random(in: 0..<10, using: &generator),
                                            Double.random(in: 0..<10, using: &generator)))
        }
        let keys0 = positions.map(PeanoHilbert.key)
        let order = keys0.indices.sorted { keys0[$0] < keys0[$1] }
        positions = order.map { positions[$0] }
        let keys = order.map { keys0[$0] }
        let tree = OctTree(positions: positions, keys: keys, coordinates: coordinates, particleMass: 2, leafCapacity: 8)
        #expect(tree.count[0] == 3000)
        // Offsets inside a node's cube, from its corner (no periodic ambiguity even for the root).
        func offset(_ p: IntegerPosition, _ corner: IntegerPosition) -> SIMD3<Double> {
            let d = p &- corner
            return SIMD3(Double(d.x), Double(d.y), Double(d.z)) * coordinates.lengthPerUnit
        }
        for n in stride(from: 0, to: tree.nodeCount, by: 7) where tree.count[n] > 0 {
            let range = Int(tree.start[n])..<(Int(tree.start[n]) + Int(tree.count[n]))
            var sum = SIMD3<Double>.zero
            for j in range { sum += offset(positions[j], tree.corner[n]) }
            let com = sum / Double(range.count)
            let stored = offset(tree.centerOfMass[n], tree.corner[n])
            #expect(((stored - com) * (stored - com)).sum().squareRoot() < 1e-7)
            var q = SIMD8<Double>.zero
            for j in range {
                let y = offset(positions[j], tree.corner[n]) - com
                q += 2 * SIMD8(y.x * y.x, y.y * y.y, y.z * y.z, y.x * y.y, y.x * y.z, y.y * y.z, 0, 0)
            }
            // Relative to M l², the natural size of a node's second moment. Children's
            // centres of mass are kept as integer positions (L / 2³² ≈ 2e-9 here), which
            // moves the parallel-axis sums by about that over l: allow 1e-7.
            let expected = (0..<6).map { q[$0] }, got = (0..<6).map { tree.quadrupole[n][$0] }
            let scale = 2 * Double(range.count) * pow(tree.side(n), 2)
            #expect(zip(expected, got).map { abs($0 - $1) }.max()! / scale < 1e-7)
            // Every particle lies inside its node's cube.
            let side = UInt64(1) << UInt64(32 - Int(tree.level[n]))
            for j in range {
                for axis in 0..<3 { #expect(UInt64(positions[j][axis] &- tree.corner[n][axis]) < side) }
            }
        }
    }
}

@Suite struct TopLevelCubes {
    /// A top-level leaf's cube contains every position whose key lies in the
    /// leaf's key interval (the curve enters cubes at arbitrary corners).
    @Test func leafCubesContainTheirKeys() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let p = IntegerPosition(UInt32.random(in: 0...UInt32.max, using: &generator), UInt32.random(in: 0...UInt32.max, using: &generator),
                                    UInt32.random(in: 0...UInt32.max, using: &generator))
            let key = PeanoHilbert.key(p)
            for level in [1, 2, 3, 5, 8] {
                let width = UInt64(1) << UInt64(3 * (PeanoHilbert.bitsPerDimension - level))
                let leaf = TopLeaf(firstKey: key / width * width, level: level, owner: 0, count: 1)
                let side = leaf.side
                for axis in 0..<3 { #expect(UInt64(p[axis] &- leaf.corner[axis]) < side, "level \(level) axis \(axis)") }
            }
        }
    }
}
