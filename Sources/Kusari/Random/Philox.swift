/// The Philox4x32-10 counter-based block function (Salmon et al., "Parallel Random Numbers:
/// As Easy as 1, 2, 3", SC11), as in the Random123 library.
///
/// Philox maps a 128-bit counter and a 64-bit key to 128 random-looking bits. Because every
/// block is a pure function of `(counter, key)`, any block of a stream can be computed
/// independently, which is what lets ``Generator`` fill tensors in parallel with results that
/// do not depend on the thread count.
public enum Philox {
    /// Multiplier applied to counter word 0 in each round.
    public static let multiplier0: UInt32 = 0xD251_1F53
    /// Multiplier applied to counter word 2 in each round.
    public static let multiplier1: UInt32 = 0xCD9E_8D57
    /// Weyl increment added to key word 0 between rounds (golden ratio).
    public static let weyl0: UInt32 = 0x9E37_79B9
    /// Weyl increment added to key word 1 between rounds (√3 − 1).
    public static let weyl1: UInt32 = 0xBB67_AE85
    /// Number of rounds of the standard variant.
    public static let rounds = 10

    /// Encrypts `counter` under `key` with ten Philox rounds and returns the four output words.
    ///
    /// Known answer (Random123 `kat_vectors`): counter `(0, 0, 0, 0)`, key `(0, 0)` →
    /// `(0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)`.
    @inline(__always)
    public static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var (c0, c1, c2, c3) = (counter[0], counter[1], counter[2], counter[3])
        var (k0, k1) = (key[0], key[1])
        for round in 0..<rounds {
            if round > 0 { k0 &+= weyl0; k1 &+= weyl1 }
            let p0 = UInt64(multiplier0) &* UInt64(c0)
            let p1 = UInt64(multiplier1) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        }
        return SIMD4(c0, c1, c2, c3)
    }

    /// Block `index` of the stream keyed by `seed`: the counter is `(index.lo, index.hi, 0, 0)`
    /// and the key is `(seed.lo, seed.hi)`.
    @inline(__always)
    static func block(seed: UInt64, index: UInt64) -> SIMD4<UInt32> {
        block(counter: SIMD4(UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32), 0, 0),
              key: SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// Blocks `index ..< index + 8` of the stream keyed by `seed`, computed eight lanes at a
    /// time; lane `j` of result word `w` equals word `w` of `block(seed:index: index + j)`.
    @inline(__always)
    static func blocks8(seed: UInt64, index: UInt64)
        -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>) {
        let counters = SIMD8<UInt64>(0, 1, 2, 3, 4, 5, 6, 7) &+ SIMD8(repeating: index)
        var c0 = SIMD8<UInt32>(truncatingIfNeeded: counters)
        var c1 = SIMD8<UInt32>(truncatingIfNeeded: counters &>> 32)
        var c2 = SIMD8<UInt32>(repeating: 0), c3 = SIMD8<UInt32>(repeating: 0)
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        let m0 = SIMD8<UInt64>(repeating: UInt64(multiplier0)), m1 = SIMD8<UInt64>(repeating: UInt64(multiplier1))
        for round in 0..<rounds {
            if round > 0 { k0 &+= weyl0; k1 &+= weyl1 }
            let p0 = SIMD8<UInt64>(truncatingIfNeeded: c0) &* m0
            let p1 = SIMD8<UInt64>(truncatingIfNeeded: c2) &* m1
            let hi0 = SIMD8<UInt32>(truncatingIfNeeded: p0 &>> 32), lo0 = SIMD8<UInt32>(truncatingIfNeeded: p0)
            let hi1 = SIMD8<UInt32>(truncatingIfNeeded: p1 &>> 32), lo1 = SIMD8<UInt32>(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ SIMD8(repeating: k0), lo1, hi0 ^ c3 ^ SIMD8(repeating: k1), lo0)
        }
        return (c0, c1, c2, c3)
    }

    /// Maps the top 24 bits of `bits` onto `[0, 1)`: every result is an exact float and
    /// 1 is never reached.
    @inline(__always)
    static func unitFloat(_ bits: UInt32) -> Float {
        Float(bits >> 8) * 0x1p-24
    }

    /// Maps the top 24 bits of `bits` onto `(0, 1]`, for logarithms.
    @inline(__always)
    static func unitFloatExcludingZero(_ bits: UInt32) -> Float {
        Float((bits >> 8) + 1) * 0x1p-24
    }
}
