import Foundation
import KusariTestSupport
import Testing
@testable import Kusari

/// Tests that change `Threading.threadCount` run one at a time.
@Suite(.serialized)
struct RandomTests {
    @Test func philoxKnownAnswers() {
        // Random123 kat_vectors: counter (4 words), key (2 words) → output (4 words).
        let vectors: [(SIMD4<UInt32>, SIMD2<UInt32>, SIMD4<UInt32>)] = [
            (SIMD4(0, 0, 0, 0), SIMD2(0, 0), SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8)),
            (SIMD4(repeating: 0xffff_ffff), SIMD2(repeating: 0xffff_ffff),
             SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd)),
            (SIMD4(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), SIMD2(0xa409_3822, 0x299f_31d0),
             SIMD4(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1)),
        ]
        for (counter, key, expected) in vectors {
            #expect(Philox.block(counter: counter, key: key) == expected)
        }
    }

    @Test func eightLaneBlocksMatchSingleBlocks() {
        // Includes a run that crosses a 2³²-block boundary (the counter's second word).
        for (seed, first) in [(UInt64(0), UInt64(0)), (0xdead_beef_0123_4567, 0xffff_fffc), (42, 1000)] {
            let (w0, w1, w2, w3) = Philox.blocks8(seed: seed, index: first)
            for j in 0..<8 {
                #expect(SIMD4(w0[j], w1[j], w2[j], w3[j]) == Philox.block(seed: seed, index: first + UInt64(j)))
            }
        }
        let scalar = Philox.block(counter: SIMD4(0xffff_ffff, 0, 0, 0), key: SIMD2(3, 0))
        #expect(Philox.block(seed: 3, index: 0xffff_ffff) == scalar)
        #expect(Philox.block(seed: 3, index: 0x1_0000_0000) == Philox.block(counter: SIMD4(0, 1, 0, 0), key: SIMD2(3, 0)))
    }

    @Test func longDrawsMatchScalarBlocks() {
        // 101 elements = 25 full blocks (three eight-block batches and a single) plus one word.
        let generator = Generator(seed: 77)
        generator.state = (77, 5)
        let draw = Tensor.uniform([101], generator: generator).scalars
        let expected: [Float] = (0..<101).map { i in
            Float(Philox.block(seed: 77, index: 5 + UInt64(i / 4))[i % 4] >> 8) / 16_777_216
        }
        assertClose(draw, expected, tolerance: 0)
        #expect(generator.state.offset == 5 + 26)
    }

    @Test func drawsFollowTheDocumentedBlockLayout() {
        let seed: UInt64 = 0x0123_4567_89ab_cdef
        let generator = Generator(seed: seed)
        _ = Tensor.uniform([5], generator: generator)  // consumes blocks 0 and 1
        #expect(generator.state.offset == 2)
        let draw = Tensor.uniform([4], generator: generator).scalars
        let bits = Philox.block(counter: SIMD4(2, 0, 0, 0), key: SIMD2(0x89ab_cdef, 0x0123_4567))
        #expect(draw == (0..<4).map { Float(bits[$0] >> 8) / 16_777_216 })
        #expect(generator.state.offset == 3)
        _ = Tensor.randint([3], low: 0, high: 10, generator: generator)
        #expect(generator.state.offset == 5)
        _ = generator.permutation(7)
        #expect(generator.state.offset == 9)
        _ = Tensor.normal([0], generator: generator)
        #expect(generator.state.offset == 9)
        // Box–Muller on word pairs (0, 1) and (2, 3) of block 9.
        let normals = Tensor.normal([4], mean: 1, std: 2, generator: generator).scalars
        let words = Philox.block(counter: SIMD4(9, 0, 0, 0), key: SIMD2(0x89ab_cdef, 0x0123_4567))
        var expected: [Float] = []
        for pair in 0..<2 {
            let u1 = Double((words[2 * pair] >> 8) + 1) / 16_777_216, u2 = Double(words[2 * pair + 1] >> 8) / 16_777_216
            let radius = (-2 * Foundation.log(u1)).squareRoot()
            expected += [Float(1 + 2 * radius * Foundation.cos(2 * Double.pi * u2)),
                         Float(1 + 2 * radius * Foundation.sin(2 * Double.pi * u2))]
        }
        assertClose(normals, expected, tolerance: 1e-4)
    }

    @Test func sameSeedSameDraws() {
        let a = Generator(seed: 42), b = Generator(seed: 42), c = Generator(seed: 43)
        let first = Tensor.normal([1000], generator: a).scalars
        #expect(first == Tensor.normal([1000], generator: b).scalars)
        #expect(first != Tensor.normal([1000], generator: c).scalars)
        // Consecutive draws differ.
        #expect(first != Tensor.normal([1000], generator: a).scalars)
        a.manualSeed(42)
        #expect(first == Tensor.normal([1000], generator: a).scalars)
    }

    @Test func drawsDoNotDependOnThreadCount() {
        ThreadCountGuard.run(checkDrawsAtEveryThreadCount)
    }

    private func checkDrawsAtEveryThreadCount() {
        let saved = Threading.threadCount
        defer { Threading.threadCount = saved }
        func draws() -> [[Float]] {
            let g = Generator(seed: 7)
            return [Tensor.uniform([200_003], low: -2, high: 3, generator: g).scalars,
                    Tensor.normal([150_001], mean: 1, std: 2, generator: g).scalars,
                    Tensor.bernoulli([100_000], probability: 0.3, generator: g).scalars,
                    Tensor.randint([90_001], low: -5, high: 1000, generator: g).scalars,
                    g.permutation(70_000).map(Float.init)]
        }
        Threading.threadCount = 1
        let serial = draws()
        Threading.threadCount = 2
        let two = draws()
        Threading.threadCount = 3
        let three = draws()
        for k in serial.indices {
            assertClose(two[k], serial[k], tolerance: 0)
            assertClose(three[k], serial[k], tolerance: 0)
        }
    }

    @Test func normalMomentsAndTails() {
        let values = Tensor.normal([100_000], mean: 2, std: 3, generator: Generator(seed: 11)).scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
        #expect(Swift.abs(mean - 2) < 0.04)  // standard error 3 / √100000 ≈ 0.0095
        #expect(Swift.abs(variance.squareRoot() - 3) < 0.04)
        let within1 = Double(values.filter { Swift.abs($0 - 2) < 3 }.count) / Double(values.count)
        #expect(Swift.abs(within1 - 0.6827) < 0.01)
        expectAll(values, "values") { $0.isFinite }
        // Neighbours (the two halves of a Box–Muller pair) are uncorrelated.
        let centred = values.map { ($0 - mean) / 3 }
        let lag1 = stride(from: 0, to: centred.count - 1, by: 2).map { centred[$0] * centred[$0 + 1] }.reduce(0, +) / 50_000
        #expect(Swift.abs(lag1) < 0.02)
        // Odd counts fill the last element too.
        let odd = Tensor.normal([3], generator: Generator(seed: 1)).scalars
        #expect(odd.count == 3 && odd.allSatisfy { $0.isFinite && $0 != 0 })
    }

    @Test func uniformRangeAndMoments() {
        let values = Tensor.uniform([100_000], low: -3, high: 5, generator: Generator(seed: 12)).scalars
        expectAll(values, "values") { $0 >= -3 && $0 < 5 }
        let mean = values.map(Double.init).reduce(0, +) / Double(values.count)
        #expect(Swift.abs(mean - 1) < 0.05)
        // Every eighth of the range receives about 1/8 of the draws.
        var bins = [Int](repeating: 0, count: 8)
        for v in values { bins[Swift.min(7, Int(v + 3))] += 1 }
        expectAll(bins, "bins") { Swift.abs(Double($0) / 100_000 - 0.125) < 0.01 }
        let unit = Tensor.uniform([10_000], generator: Generator(seed: 13)).scalars
        expectAll(unit, "unit") { $0 >= 0 && $0 < 1 }
        // A range so narrow that rounding could reach `high` still stays below it.
        let narrow = Tensor.uniform([10_000], low: 1, high: Float(1).nextUp, generator: Generator(seed: 14)).scalars
        expectAll(narrow, "narrow") { $0 == 1 }
    }

    @Test func bernoulliRate() {
        let values = Tensor.bernoulli([100_000], probability: 0.3, generator: Generator(seed: 15)).scalars
        expectAll(values, "values") { $0 == 0 || $0 == 1 }
        let rate = Double(values.reduce(0, +)) / 100_000
        #expect(Swift.abs(rate - 0.3) < 0.01)
        expectAll(Tensor.bernoulli([1000], probability: 0, generator: Generator(seed: 16)).scalars, "p = 0") { $0 == 0 }
        expectAll(Tensor.bernoulli([1000], probability: 1, generator: Generator(seed: 16)).scalars, "p = 1") { $0 == 1 }
        // With a value: the same draw, the ones replaced by it.
        let scaled = Tensor.bernoulli([100_000], probability: 0.3, value: 2.5, generator: Generator(seed: 15)).scalars
        #expect(scaled == values.map { $0 * 2.5 })
    }

    @Test func randintRangeAndCoverage() {
        let values = Tensor.randint([50_000], low: -3, high: 7, generator: Generator(seed: 17))
        #expect(values.dtype == .int64)
        let ints = values.toArray(of: Int64.self)
        expectAll(ints, "ints") { $0 >= -3 && $0 < 7 }
        var counts = [Int](repeating: 0, count: 10)
        for v in ints { counts[Int(v + 3)] += 1 }
        expectAll(counts, "counts") { Swift.abs(Double($0) / 50_000 - 0.1) < 0.01 }
        let small = Tensor.randint([2, 3], low: 0, high: 2, dtype: .int32, generator: Generator(seed: 18))
        #expect(small.dtype == .int32 && small.shape == [2, 3])
        expectAll(small.toArray(of: Int32.self), "int32 draws") { $0 == 0 || $0 == 1 }
    }

    @Test func permutationIsAPermutation() {
        let generator = Generator(seed: 19)
        for n in [0, 1, 2, 10, 1000] {
            let p = generator.permutation(n)
            #expect(p.sorted() == Array(0..<n))
        }
        #expect(generator.permutation(1000) != Array(0..<1000))
        // Each value lands in each position about equally often.
        var firstPosition = [Int](repeating: 0, count: 4)
        for _ in 0..<4000 { firstPosition[generator.permutation(4)[0]] += 1 }
        expectAll(firstPosition, "firstPosition") { Swift.abs($0 - 1000) < 120 }
    }

    @Test func stateSaveAndRestoreReplaysDraws() {
        let generator = Generator(seed: 20)
        _ = Tensor.normal([10], generator: generator)
        let saved = generator.state
        #expect(saved.seed == 20 && saved.offset == 3)
        let first = Tensor.uniform([33], generator: generator).scalars
        let firstPermutation = generator.permutation(50)
        generator.state = saved
        #expect(Tensor.uniform([33], generator: generator).scalars == first)
        #expect(generator.permutation(50) == firstPermutation)
        let other = Generator(seed: 999)
        other.state = saved
        #expect(Tensor.uniform([33], generator: other).scalars == first)
    }

    @Test func concurrentDrawsReserveDisjointBlocks() async {
        let generator = Generator(seed: 21)
        let draws = await withTaskGroup(of: [Float].self) { group in
            for _ in 0..<8 { group.addTask { Tensor.uniform([64], generator: generator).scalars } }
            var all: [[Float]] = []
            for await draw in group { all.append(draw) }
            return all
        }
        #expect(generator.state.offset == 8 * 16)
        // Every draw is one of the eight disjoint 16-block runs.
        let reference = Generator(seed: 21)
        let runs = (0..<8).map { _ in Tensor.uniform([64], generator: reference).scalars }
        #expect(Set(draws.map { $0.description }) == Set(runs.map { $0.description }))
    }

    @Test func defaultGeneratorIsShared() {
        // Values drawn from `.default` are not compared: other tests may draw from it concurrently.
        #expect(Generator.default === Generator.default)
        #expect(Generator(seed: Generator.defaultSeed).state == (Generator.defaultSeed, 0))
    }
}
