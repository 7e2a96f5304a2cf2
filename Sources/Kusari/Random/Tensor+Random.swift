import Foundation

/// Random tensors drawn from a ``Generator``. Each factory consumes a fixed number of Philox
/// blocks determined by the element count only, so results depend on the generator state and
/// the shape — never on the thread count, and not on the device: a GPU draws the same values.
extension Tensor {
    /// Uniform floats in `[low, high)`.
    ///
    /// Each element uses 32 random bits, of which the top 24 form the fraction (so `low` is
    /// reachable, `high` is not); consumes `⌈count / 4⌉` blocks.
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                               generator: Generator = .default, on device: Device = .cpu) -> Tensor {
        require(low <= high, "uniform: low \(low) is above high \(high)")
        if device != .cpu {
            return drawn(.uniform(low: low, high: high), shape, .float32, blocks: (Shape.count(shape) + 3) / 4, generator, device)
        }
        let result = Tensor(uninitializedShape: shape)
        let out = result.floats, n = result.count, span = high - low
        let top = high > low ? high.nextDown : low
        generator.generateBlocks((n + 3) / 4) { stream, range in
            stream.forEachBlock(in: range) { b, bits in
                for w in 0..<4 where 4 * b + w < n {
                    out[4 * b + w] = Swift.min(low + span * Philox.unitFloat(bits[w]), top)
                }
            }
        }
        return result
    }

    /// Normally distributed floats with the given mean and standard deviation.
    ///
    /// Uses the Box–Muller transform on pairs of 24-bit uniforms: words 0–1 of a block give
    /// elements `4b` and `4b + 1`, words 2–3 give `4b + 2` and `4b + 3`; consumes
    /// `⌈count / 4⌉` blocks. The logarithm, sine and cosine are computed in double precision and
    /// rounded to float, which makes every value the same on any CPU and on the GPU (float
    /// `logf`/`sinf` are not correctly rounded and differ between libraries).
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                              generator: Generator = .default, on device: Device = .cpu) -> Tensor {
        require(std >= 0, "normal: negative standard deviation \(std)")
        if device != .cpu {
            return drawn(.normal(mean: mean, std: std), shape, .float32, blocks: (Shape.count(shape) + 3) / 4, generator, device)
        }
        let result = Tensor(uninitializedShape: shape)
        let out = result.floats, n = result.count
        generator.generateBlocks((n + 3) / 4) { stream, range in
            stream.forEachBlock(in: range) { b, bits in
                for pair in 0..<2 {
                    let i = 4 * b + 2 * pair
                    guard i < n else { break }
                    let logarithm = Float(Foundation.log(Double(Philox.unitFloatExcludingZero(bits[2 * pair]))))
                    let radius = (-2 * logarithm).squareRoot()
                    let angle = 2 * Float.pi * Philox.unitFloat(bits[2 * pair + 1])
                    let scaled = std * radius
                    out[i] = mean + scaled * Float(Foundation.cos(Double(angle)))
                    if i + 1 < n { out[i + 1] = mean + scaled * Float(Foundation.sin(Double(angle))) }
                }
            }
        }
        return result
    }

    /// Floats that are `value` (1 by default) with the given probability and 0 otherwise (a
    /// 24-bit uniform compared with `probability`); consumes `⌈count / 4⌉` blocks. Dropout draws
    /// its mask with `value` `1 / (1 - rate)`, already scaled.
    public static func bernoulli(_ shape: [Int], probability: Float, value: Float = 1,
                                 generator: Generator = .default, on device: Device = .cpu) -> Tensor {
        require(probability >= 0 && probability <= 1, "bernoulli: probability \(probability) is outside [0, 1]")
        if device != .cpu {
            return drawn(.bernoulli(probability: probability, value: value), shape, .float32,
                         blocks: (Shape.count(shape) + 3) / 4, generator, device)
        }
        let result = Tensor(uninitializedShape: shape)
        let out = result.floats, n = result.count
        generator.generateBlocks((n + 3) / 4) { stream, range in
            stream.forEachBlock(in: range) { b, bits in
                for w in 0..<4 where 4 * b + w < n {
                    out[4 * b + w] = Philox.unitFloat(bits[w]) < probability ? value : 0
                }
            }
        }
        return result
    }

    /// Uniformly distributed integers in `[low, high)`, as `int64` (or `int32`).
    ///
    /// Each element uses 64 random bits mapped onto the range by a widening multiply;
    /// consumes `⌈count / 2⌉` blocks.
    public static func randint(_ shape: [Int], low: Int, high: Int, dtype: DType = .int64,
                               generator: Generator = .default, on device: Device = .cpu) -> Tensor {
        require(low < high, "randint: empty range [\(low), \(high))")
        require(dtype == .int64 || (dtype == .int32 && low >= Int(Int32.min) && high - 1 <= Int(Int32.max)),
                "randint: range [\(low), \(high)) does not fit dtype \(dtype)")
        if device != .cpu {
            return drawn(.integers(low: low, high: high), shape, dtype, blocks: (Shape.count(shape) + 1) / 2, generator, device)
        }
        let result = Tensor(uninitializedShape: shape, dtype: dtype)
        let n = result.count
        let range = UInt64(bitPattern: Int64(high) &- Int64(low))
        let base = Int64(low)
        func fill<T: FixedWidthInteger>(_ out: UnsafeMutablePointer<T>) {
            generator.generateBlocks((n + 1) / 2) { stream, blocks in
                stream.forEachBlock(in: blocks) { b, bits in
                    for half in 0..<2 where 2 * b + half < n {
                        let word = UInt64(bits[2 * half]) | UInt64(bits[2 * half + 1]) << 32
                        out[2 * b + half] = T(truncatingIfNeeded: base &+ Int64(bitPattern: Generator.bounded(word, range)))
                    }
                }
            }
        }
        if dtype == .int64 { fill(result.pointer(as: Int64.self)) } else { fill(result.pointer(as: Int32.self)) }
        return result
    }

    /// Draws on a GPU: reserves the same Philox blocks the CPU draw would use (advancing
    /// `generator` identically) and lets the backend compute the values from them.
    private static func drawn(_ distribution: RandomDistribution, _ shape: [Int], _ dtype: DType, blocks: Int,
                              _ generator: Generator, _ device: Device) -> Tensor {
        let operations = DeviceDispatch.operations(on: device, "random")
        let (key, start) = generator.reserve(blocks: blocks)
        return DeviceDispatch.run("random") {
            try operations.random(distribution, shape: shape, dtype: dtype, key: key, offset: start)
        }
    }
}
