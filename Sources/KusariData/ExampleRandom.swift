import Kusari

/// Random numbers for augmenting one example, determined by `(seed, epoch, position)` alone.
///
/// A ``DataLoader`` gives every example it loads an `ExampleRandom` seeded from the loader's
/// seed, the epoch and the example's position in that epoch's order, so the augmentation an
/// example receives does not depend on which worker thread assembles it, on how many workers
/// there are, or on whether the run was resumed from a snapshot.
///
/// The numbers come from Kusari's Philox4x32-10 block function: the key is the seed (mixed with
/// a domain constant so the streams differ from ``Generator``'s for the same seed), and the
/// 128-bit counter holds the epoch, the position and a block count, so blocks of different
/// examples never coincide. Each block yields four 32-bit words, consumed in order.
public struct ExampleRandom: Sendable {
    /// Mixed into the key so these streams never equal a ``Generator``'s for the same seed.
    static let domain: UInt64 = 0x4B55_5341_5249_4458 // "KUSARIDX"

    private let key: SIMD2<UInt32>
    private let epoch: UInt32
    private let position: UInt64
    private var blockIndex: UInt32 = 0
    private var words = SIMD4<UInt32>()
    private var used = 4

    /// The stream of the example at `position` of epoch `epoch` for a loader seeded with `seed`.
    public init(seed: UInt64, epoch: Int, position: Int) {
        precondition(epoch >= 0 && position >= 0, "ExampleRandom: negative epoch \(epoch) or position \(position)")
        let mixed = seed ^ ExampleRandom.domain
        key = SIMD2(UInt32(truncatingIfNeeded: mixed), UInt32(truncatingIfNeeded: mixed >> 32))
        self.epoch = UInt32(truncatingIfNeeded: epoch)
        self.position = UInt64(position)
    }

    /// The next 32 random bits.
    public mutating func nextUInt32() -> UInt32 {
        if used == 4 {
            let counter = SIMD4<UInt32>(blockIndex, UInt32(truncatingIfNeeded: position),
                                        UInt32(truncatingIfNeeded: position >> 32), epoch)
            words = Philox.block(counter: counter, key: key)
            blockIndex &+= 1
            used = 0
        }
        defer { used += 1 }
        return words[used]
    }

    /// The next 64 random bits (two words).
    public mutating func nextUInt64() -> UInt64 {
        let low = UInt64(nextUInt32())
        return low | UInt64(nextUInt32()) << 32
    }

    /// A uniform float in `[0, 1)` with 24 random bits (every value is exact; 1 is never drawn).
    public mutating func uniform() -> Float {
        Float(nextUInt32() >> 8) * 0x1p-24
    }

    /// A uniform float in `[low, high)` (`low` when the range is empty).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        precondition(low <= high, "ExampleRandom.uniform: low \(low) is above high \(high)")
        return Swift.min(low + (high - low) * uniform(), high > low ? high.nextDown : low)
    }

    /// A uniform integer in `0..<bound` (64 random bits mapped by a widening multiply).
    public mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "ExampleRandom.int(below:): bound \(bound) is not positive")
        return Int(nextUInt64().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A uniform integer in `range`.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(below: range.upperBound - range.lowerBound + 1)
    }

    /// `true` with probability `probability` (a uniform draw below it).
    public mutating func bool(probability: Float = 0.5) -> Bool {
        uniform() < probability
    }
}
