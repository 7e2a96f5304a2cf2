import Kusari

/// Deterministic pseudo-random values in `[low, high)` (SplitMix64, independent of
/// ``Generator``, so a broken random number generator cannot hide a broken op); the core tests'
/// `testValues` too.
public func parityValues(_ count: Int, seed: UInt64, low: Float = -1, high: Float = 1) -> [Float] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    return (0..<count).map { _ in
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return low + (high - low) * Float(z >> 40) / Float(1 << 24)
    }
}

/// A float32 CPU tensor of `shape` filled with ``parityValues(_:seed:low:high:)``.
public func parityTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    Tensor(parityValues(Shape.count(shape), seed: seed, low: low, high: high), shape: shape)
}

/// A float32 CPU tensor of `shape` with values in `[-2, 2]` rounded to halves, so comparisons,
/// maxima and minima meet ties.
func halvesTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    Tensor(parityValues(Shape.count(shape), seed: seed, low: -2, high: 2).map { ($0 * 2).rounded() / 2 }, shape: shape)
}
