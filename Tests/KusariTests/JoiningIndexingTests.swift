import Testing
@testable import Kusari

struct JoiningTests {
    @Test func concatAlongEachAxis() {
        let a = Tensor((0..<6).map(Float.init), shape: [2, 3])
        let b = Tensor((10..<14).map(Float.init), shape: [2, 2])
        let c = Tensor((20..<23).map(Float.init), shape: [1, 3])
        let rows = Tensor.concat([a, c], axis: 0)
        #expect(rows.shape == [3, 3])
        #expect(rows.scalars == [0, 1, 2, 3, 4, 5, 20, 21, 22])
        let columns = Tensor.concat([a, b], axis: -1)
        #expect(columns.shape == [2, 5])
        #expect(columns.scalars == [0, 1, 2, 10, 11, 3, 4, 5, 12, 13])
    }

    @Test func concatOfViewsEmptyPiecesAndIntegers() {
        let a = Tensor((0..<6).map(Float.init), shape: [2, 3])
        let empty = Tensor.zeros([2, 0])
        let joined = Tensor.concat([a.transpose(), Tensor.ones([1, 2])], axis: 0)
        #expect(joined.scalars == [0, 3, 1, 4, 2, 5, 1, 1])
        #expect(Tensor.concat([empty, a, empty], axis: 1).scalars == a.scalars)
        let ints = Tensor.concat([Tensor([Int64(1), 2]), Tensor([Int64(3)])], axis: 0)
        #expect(ints.dtype == .int64 && ints.toArray(of: Int64.self) == [1, 2, 3])
        let bytes = Tensor.concat([Tensor([UInt8(7)], shape: [1, 1]), Tensor([UInt8(8), 9], shape: [1, 2])], axis: 1)
        #expect(bytes.toArray(of: UInt8.self) == [7, 8, 9])
    }

    @Test func largeConcatMatchesReference() {
        // Large enough to be split across threads, with chunk borders inside segments.
        let a = testTensor([37, 1000, 3], seed: 41), b = testTensor([37, 517, 3], seed: 42)
        let joined = Tensor.concat([a, b], axis: 1).scalars
        let av = a.scalars, bv = b.scalars
        var expected: [Float] = []
        for i in 0..<37 {
            expected += av[(i * 3000)..<((i + 1) * 3000)]
            expected += bv[(i * 1551)..<((i + 1) * 1551)]
        }
        assertClose(joined, expected, tolerance: 0)
        let many = (0..<300).map { Tensor.full([3, 700], Float($0)) }
        let stacked = Tensor.stack(many, axis: 1)
        #expect(stacked.shape == [3, 300, 700])
        let sv = stacked.scalars
        expectAll(Array(sv.enumerated()), "stacked") { $0.element == Float(($0.offset / 700) % 300) }
    }

    @Test func stackInsertsAxis() {
        let a = Tensor([1, 2, 3], shape: [3]), b = Tensor([4, 5, 6], shape: [3])
        #expect(Tensor.stack([a, b]).shape == [2, 3])
        #expect(Tensor.stack([a, b]).scalars == [1, 2, 3, 4, 5, 6])
        #expect(Tensor.stack([a, b], axis: 1).scalars == [1, 4, 2, 5, 3, 6])
        #expect(Tensor.stack([a, b], axis: -1).shape == [3, 2])
    }

    @Test func splitAndChunk() {
        let x = Tensor((0..<20).map(Float.init), shape: [4, 5])
        let parts = x.split(sizes: [2, 0, 3], axis: 1)
        #expect(parts.map(\.shape) == [[4, 2], [4, 0], [4, 3]])
        #expect(parts[0].scalars == [0, 1, 5, 6, 10, 11, 15, 16])
        #expect(parts[2].scalars == [2, 3, 4, 7, 8, 9, 12, 13, 14, 17, 18, 19])
        #expect(x.chunk(2, axis: 0).map(\.shape) == [[2, 5], [2, 5]])
        #expect(x.chunk(2, axis: 1).map(\.shape) == [[4, 3], [4, 2]])
        #expect(x.chunk(3, axis: 0).map(\.shape) == [[2, 5], [2, 5]])  // torch.chunk: ceil(4/3) = 2 per piece
        #expect(x.chunk(6, axis: 0).map(\.shape) == [[1, 5], [1, 5], [1, 5], [1, 5]])
        #expect(Tensor.concat(x.chunk(2, axis: 1), axis: 1).scalars == x.scalars)
    }

    @Test func gradients() {
        let a = testTensor([2, 3], seed: 43), b = testTensor([2, 2], seed: 44), c = testTensor([2, 1], seed: 45)
        checkGradients([a, b, c]) { Tensor.concat($0, axis: 1) }
        checkGradients([a, b, c]) { Tensor.concat([$0[0].transpose(), $0[1], $0[2].transpose()], axis: 0).exp() }
        let d = testTensor([2, 3], seed: 46)
        checkGradients([a, d]) { Tensor.stack($0, axis: 1) }
        checkGradients([a, d]) { Tensor.stack([$0[0], $0[1], $0[0]], axis: 0) }
        let x = testTensor([4, 5], seed: 47)
        checkGradients([x]) { t in
            let pieces = t[0].split(sizes: [1, 3, 1], axis: 1)
            return pieces[0] * pieces[2] + pieces[1].sum(axis: 1, keepDims: true)
        }
        checkGradients([x]) { t in
            let halves = t[0].chunk(2, axis: 0)
            return halves[0].sigmoid() * halves[1]
        }
    }

    @Test func concatGradientIsSliceOfUpstream() {
        let a = Tensor.zeros([2, 2]).requiringGrad(), b = Tensor.zeros([2, 1]).requiringGrad()
        Tensor.concat([a, b], axis: 1).backward(Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]))
        #expect(a.grad?.scalars == [1, 2, 4, 5])
        #expect(b.grad?.scalars == [3, 6])
    }
}

struct IndexingTests {
    @Test func indexSelectRowsAndColumns() {
        let x = Tensor((0..<12).map(Float.init), shape: [3, 4])
        let rows = x.indexSelect(axis: 0, indices: Tensor([Int64(2), 0, 2]))
        #expect(rows.shape == [3, 4])
        #expect(rows.scalars == [8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11])
        let columns = x.indexSelect(axis: 1, indices: Tensor([Int32(3), 1]))
        #expect(columns.shape == [3, 2])
        #expect(columns.scalars == [3, 1, 7, 5, 11, 9])
        let labels = Tensor([Int32(5), 6, 7, 8])
        #expect(labels.indexSelect(axis: 0, indices: Tensor([Int32(3), 3, 0])).toArray(of: Int32.self) == [8, 8, 5])
        #expect(x.transpose().indexSelect(axis: 0, indices: Tensor([Int64(1)])).scalars == [1, 5, 9])
        #expect(x.indexSelect(axis: 0, indices: Tensor([Int64](), shape: [0])).shape == [0, 4])
    }

    @Test func indexSelectGradientAccumulatesRepeats() {
        let x = Tensor.zeros([3, 2]).requiringGrad()
        let picked = x.indexSelect(axis: 0, indices: Tensor([Int64(1), 1, 0, 1]))
        picked.backward(Tensor([1, 2, 3, 4, 5, 6, 7, 8], shape: [4, 2]))
        #expect(x.grad?.scalars == [5, 6, 1 + 3 + 7, 2 + 4 + 8, 0, 0])
        let y = testTensor([2, 3, 4], seed: 48)
        checkGradients([y]) { $0[0].indexSelect(axis: 1, indices: Tensor([Int32(2), 0, 2, 2])) }
        checkGradients([y]) { $0[0].indexSelect(axis: 2, indices: Tensor([Int64(3), 3, 1])).exp() }
    }

    @Test func gatherFollowsTorchSemantics() {
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let along1 = x.gather(axis: 1, indices: Tensor([Int64(2), 0, 1, 1], shape: [2, 2]))
        #expect(along1.scalars == [3, 1, 5, 5])
        let along0 = x.gather(axis: 0, indices: Tensor([Int32(1), 0, 1], shape: [1, 3]))
        #expect(along0.scalars == [4, 2, 6])
        let values = testValues(60, seed: 49)
        let cube = Tensor(values, shape: [3, 4, 5])
        let rawIndex: [Int64] = (0..<36).map { i in Int64((i * 7 + 3) % 4) }
        let index = Tensor(rawIndex, shape: [2, 6, 3])
        let gathered = cube.gather(axis: 1, indices: index).scalars
        let ids = index.toArray(of: Int64.self)
        for i in 0..<2 { for j in 0..<6 { for k in 0..<3 {
            let flat = (i * 6 + j) * 3 + k
            #expect(gathered[flat] == values[(i * 4 + Int(ids[flat])) * 5 + k])
        } } }
    }

    @Test func gatherAndScatterAddGradients() {
        let x = testTensor([3, 4], seed: 50)
        let index = Tensor([Int64(0), 3, 3, 1, 2, 2, 0, 0, 1], shape: [3, 3])
        checkGradients([x]) { $0[0].gather(axis: 1, indices: index) }
        checkGradients([x]) { $0[0].gather(axis: 0, indices: Tensor([Int32(2), 2, 0, 1, 1, 1, 0, 2], shape: [2, 4])) }
        let source = testTensor([3, 3], seed: 51)
        checkGradients([x, source]) { $0[0].scatterAdd(axis: 1, indices: index, source: $0[1]) }
        let g = Tensor.zeros([2, 3]).requiringGrad()
        g.gather(axis: 1, indices: Tensor([Int64(1), 1, 1, 0, 2, 0], shape: [2, 3])).sum().backward()
        #expect(g.grad?.scalars == [0, 3, 0, 2, 0, 1])
    }

    @Test func scatterAddAccumulatesRepeats() {
        let base = Tensor.ones([2, 4])
        let result = base.scatterAdd(axis: 1, indices: Tensor([Int64(3), 3, 0, 1, 1, 1], shape: [2, 3]),
                                     source: Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]))
        #expect(result.scalars == [4, 1, 1, 4, 1, 16, 1, 1])
        #expect(base.scalars == [Float](repeating: 1, count: 8))
    }

    @Test func embeddingLooksUpRows() {
        let weight = Tensor((0..<15).map(Float.init), shape: [5, 3])
        let ids = Tensor([Int64(4), 0, 4, 2], shape: [2, 2])
        let out = embedding(ids, weight)
        #expect(out.shape == [2, 2, 3])
        #expect(out.scalars == [12, 13, 14, 0, 1, 2, 12, 13, 14, 6, 7, 8])
        #expect(embedding(Tensor([Int32(1)]), weight).scalars == [3, 4, 5])
    }

    @Test func embeddingGradientAccumulatesRows() {
        let weight = testTensor([6, 4], seed: 52)
        checkGradients([weight]) { embedding(Tensor([Int32(5), 1, 5, 5, 0, 1], shape: [3, 2]), $0[0]) }
        // Many rows, many repeats, several threads: compare with a serial reference.
        let vocabulary = 50, width = 70, n = 20_000
        let ids = (0..<n).map { Int64(($0 * 31 + $0 / 7) % vocabulary) }
        let table = Tensor.zeros([vocabulary, width]).requiringGrad()
        let upstream = testValues(n * width, seed: 53)
        embedding(Tensor(ids, shape: [n / 100, 100]), table)
            .backward(Tensor(upstream, shape: [n / 100, 100, width]))
        var expected = [Double](repeating: 0, count: vocabulary * width)
        for r in 0..<n { for c in 0..<width { expected[Int(ids[r]) * width + c] += Double(upstream[r * width + c]) } }
        assertClose(table.grad!.scalars, expected.map { Float($0) }, tolerance: 1e-4)
    }
}

struct IndexBoundsTests {
    @Test func outOfRangeIndicesStopTheProcess() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor.zeros([3, 2]).indexSelect(axis: 0, indices: Tensor([Int64(3)]))
        }
        await #expect(processExitsWith: .failure) {
            _ = embedding(Tensor([Int32(-1)]), Tensor.zeros([4, 2]))
        }
        await #expect(processExitsWith: .failure) {
            _ = Tensor.zeros([2, 2]).gather(axis: 1, indices: Tensor([Int64(0), 2], shape: [1, 2]))
        }
    }
}
