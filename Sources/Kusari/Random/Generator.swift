import Foundation

/// A seeded, counter-based random number generator built on ``Philox`` (Philox4x32-10).
///
/// The state is just `(seed, offset)`: the seed is the Philox key and the offset counts the
/// 128-bit blocks consumed so far. A draw of `n` values reserves a run of blocks
/// `offset ..< offset + blocks` and advances the offset past them; element `i` of the draw is
/// computed from block `offset + i / valuesPerBlock` alone. Draws are therefore reproducible
/// from `(seed, offset)` and independent of ``Threading/threadCount``, and blocks are filled in
/// parallel.
///
/// Generators are thread-safe: concurrent draws each reserve their own blocks under a lock.
public final class Generator: @unchecked Sendable {
    /// Seed of ``default`` at start-up.
    public static let defaultSeed: UInt64 = 67_280_421_310_721

    /// The process-wide generator used when an API is not given one.
    public static let `default` = Generator(seed: defaultSeed)

    private let lock = NSLock()
    private var seed: UInt64
    private var offset: UInt64 = 0

    /// A generator whose stream is determined by `seed`.
    public init(seed: UInt64) {
        self.seed = seed
    }

    /// Restarts the stream from `seed` (offset 0), like `torch.manual_seed`.
    public func manualSeed(_ seed: UInt64) {
        lock.lock(); defer { lock.unlock() }
        self.seed = seed
        offset = 0
    }

    /// The seed and the number of blocks consumed; save it in a checkpoint and assign it back
    /// to replay the same draws.
    public var state: (seed: UInt64, offset: UInt64) {
        get {
            lock.lock(); defer { lock.unlock() }
            return (seed, offset)
        }
        set {
            lock.lock(); defer { lock.unlock() }
            (seed, offset) = newValue
        }
    }

    /// Reserves `blocks` consecutive blocks and returns the key and the first block's index.
    func reserve(blocks: Int) -> (seed: UInt64, start: UInt64) {
        require(blocks >= 0, "cannot reserve \(blocks) random blocks")
        lock.lock(); defer { lock.unlock() }
        let start = offset
        offset &+= UInt64(blocks)
        return (seed, start)
    }

    /// Reserves `blocks` blocks and calls `body(stream, range)` on contiguous ranges of block
    /// numbers `0..<blocks`, in parallel; `stream.forEachBlock(in: range)` yields their bits.
    func generateBlocks(_ blocks: Int, _ body: (_ stream: PhiloxStream, _ range: Range<Int>) -> Void) {
        let (key, start) = reserve(blocks: blocks)
        let stream = PhiloxStream(seed: key, start: start)
        Threading.parallelFor(blocks, grain: 4096) { first, end in body(stream, first..<end) }
    }

    /// `count` uniformly distributed 64-bit values (two per block).
    func randomBits64(_ count: Int) -> [UInt64] {
        guard count > 0 else { return [] }
        return [UInt64](unsafeUninitializedCapacity: count) { buffer, initialized in
            let out = buffer.baseAddress!
            generateBlocks((count + 1) / 2) { stream, range in
                stream.forEachBlock(in: range) { b, bits in
                    out[2 * b] = UInt64(bits[0]) | UInt64(bits[1]) << 32
                    if 2 * b + 1 < count { out[2 * b + 1] = UInt64(bits[2]) | UInt64(bits[3]) << 32 }
                }
            }
            initialized = count
        }
    }

    /// A uniformly random ordering of `0..<n` (Fisher–Yates shuffle driven by this generator;
    /// consumes `⌈n / 2⌉` blocks).
    public func permutation(_ n: Int) -> [Int] {
        require(n >= 0, "permutation of a negative count \(n)")
        var result = Array(0..<n)
        guard n > 1 else { return result }
        let bits = randomBits64(n)
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Generator.bounded(bits[i], UInt64(i + 1))
            result.swapAt(i, Int(j))
        }
        return result
    }

    /// Maps 64 random bits onto `0..<range` by a widening multiply (bias below `range / 2⁶⁴`).
    @inline(__always)
    static func bounded(_ bits: UInt64, _ range: UInt64) -> UInt64 {
        bits.multipliedFullWidth(by: range).high
    }
}

/// The blocks one draw reserved: block `b` of the draw is Philox block `start + b` under `seed`.
struct PhiloxStream {
    let seed: UInt64
    let start: UInt64

    @inline(__always)
    func block(_ b: Int) -> SIMD4<UInt32> { Philox.block(seed: seed, index: start &+ UInt64(b)) }

    /// Calls `body(b, bits)` for every block `b` in `range`, in order, computing eight blocks
    /// at a time with ``Philox/blocks8(seed:index:)``.
    @inline(__always)
    func forEachBlock(in range: Range<Int>, _ body: (_ b: Int, _ bits: SIMD4<UInt32>) -> Void) {
        var b = range.lowerBound
        while b + 8 <= range.upperBound {
            let (w0, w1, w2, w3) = Philox.blocks8(seed: seed, index: start &+ UInt64(b))
            for j in 0..<8 { body(b + j, SIMD4(w0[j], w1[j], w2[j], w3[j])) }
            b += 8
        }
        while b < range.upperBound {
            body(b, block(b))
            b += 1
        }
    }
}
