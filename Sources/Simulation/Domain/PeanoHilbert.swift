/// Peano–Hilbert keys: a space-filling curve through the box at 21 bits per
/// dimension (63-bit keys). Points close on the curve are close in space,
/// and every octree cell is one contiguous key interval, so sorting by key
/// gives compact domains and a tree whose nodes are index ranges.
public enum PeanoHilbert {
    public static let bitsPerDimension = 21

    /// Key of an integer position (its top 21 bits per dimension).
    @inline(__always)
    public static func key(_ p: IntegerPosition) -> UInt64 {
        var x = (UInt32(p.x >> 11), UInt32(p.y >> 11), UInt32(p.z >> 11))
        // Skilling (2004): turn the coordinates into the "transposed" Hilbert index in place.
        let top: UInt32 = 1 << UInt32(bitsPerDimension - 1)
        var q = top
        while q > 1 {
            let mask = q - 1
            // Inverse undo of excess work, one axis at a time.
            if x.0 & q != 0 { x.0 ^= mask } 
            if x.1 & q != 0 { x.0 ^= mask } else { let t = (x.0 ^ x.1) & mask; x.0 ^= t; x.1 ^= t }
            if x.2 & q != 0 { x.0 ^= mask } else { let t = (x.0 ^ x.2) & mask; x.0 ^= t; x.2 ^= t }
            q >>= 1
        }
        // Gray encode.
        x.1 ^= x.0
        x.2 ^= x.1
        var t: UInt32 = 0
        q = top
        while q > 1 {
            if x.2 & q != 0 { t ^= q - 1 }
            q >>= 1
        }
        x.0 ^= t; x.1 ^= t; x.2 ^= t
        // Interleave: bit b of each axis, most significant first, x before y before z.
        return interleave(x.0) << 2 | interleave(x.1) << 1 | interleave(x.2)
    }

    /// The integer position of the lower corner of the cell that `key`
    /// addresses at full resolution (the inverse of `key`, to 21 bits).
    public static func position(_ key: UInt64) -> IntegerPosition {
        var x = (compact(key >> 2), compact(key >> 1), compact(key))
        let n: UInt32 = 2 << UInt32(bitsPerDimension - 1)
        // Gray decode by H ^ (H/2).
        let t = x.2 >> 1
        x.2 ^= x.1; x.1 ^= x.0; x.0 ^= t
        // Undo excess work.
        var q: UInt32 = 2
        while q != n {
            let p = q - 1
            if x.2 & q != 0 { x.0 ^= p } else { let s = (x.0 ^ x.2) & p; x.0 ^= s; x.2 ^= s }
            if x.1 & q != 0 { x.0 ^= p } else { let s = (x.0 ^ x.1) & p; x.0 ^= s; x.1 ^= s }
            if x.0 & q != 0 { x.0 ^= p }
            q <<= 1
        }
        return IntegerPosition(x.0 << 11, x.1 << 11, x.2 << 11)
    }

    /// Gathers every third bit (bits 0, 3, 6, ...) into the low 21 bits.
    @inline(__always)
    static func compact(_ v: UInt64) -> UInt32 {
        var x = v & 0x1249_2492_4924_9249
        x = (x | x >> 2) & 0x10c3_0c30_c30c_30c3
        x = (x | x >> 4) & 0x100f_00f0_0f00_f00f
        x = (x | x >> 8) & 0x1f_0000_ff00_00ff
        x = (x | x >> 16) & 0x1f_0000_0000_ffff
        x = (x | x >> 32) & 0x1f_ffff
        return UInt32(x)
    }

    /// Spreads 21 bits so that bit i moves to bit 3i.
    @inline(__always)
    static func interleave(_ v: UInt32) -> UInt64 {
        var x = UInt64(v) & 0x1f_ffff
        x = (x | x << 32) & 0x1f_0000_0000_ffff
        x = (x | x << 16) & 0x1f_0000_ff00_00ff
        x = (x | x << 8) & 0x100f_00f0_0f00_f00f
        x = (x | x << 4) & 0x10c3_0c30_c30c_30c3
        x = (x | x << 2) & 0x1249_2492_4924_9249
        return x
    }
}
