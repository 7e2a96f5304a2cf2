import Testing
@testable import Kusari

func referenceMatmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
    var out = [Float](repeating: 0, count: m * n)
    for i in 0..<m { for j in 0..<n {
        var total: Double = 0
        for p in 0..<k { total += Double(a[i * k + p]) * Double(b[p * n + j]) }
        out[i * n + j] = Float(total)
    } }
    return out
}

struct MatmulTests {
    @Test(arguments: [(1, 1, 1), (3, 4, 5), (17, 33, 9), (64, 128, 32)])
    func twoDimensionalProduct(m: Int, k: Int, n: Int) {
        let a = fixtureValues(m * k, seed: 61), b = fixtureValues(k * n, seed: 62)
        let c = Tensor(a, shape: [m, k]).matmul(Tensor(b, shape: [k, n]))
        #expect(c.shape == [m, n])
        #expect(maxAbsDifference(c.scalars, referenceMatmul(a, b, m: m, k: k, n: n)) < 1e-4)
    }

    @Test func transposedViewsAreReadInPlace() {
        let a = fixtureValues(6 * 4, seed: 63), b = fixtureValues(5 * 6, seed: 64)
        // aᵀ (4x6) @ bᵀ (6x5) using transpose views.
        let c = Tensor(a, shape: [6, 4]).transpose().matmul(Tensor(b, shape: [5, 6]).transpose())
        let at = (0..<24).map { a[($0 % 6) * 4 + $0 / 6] }, bt = (0..<30).map { b[($0 % 5) * 6 + $0 / 5] }
        #expect(maxAbsDifference(c.scalars, referenceMatmul(at, bt, m: 4, k: 6, n: 5)) < 1e-5)
    }

    @Test func batchedProductBroadcastsBatchAxes() {
        let a = fixtureValues(2 * 3 * 4, seed: 65), b = fixtureValues(4 * 2, seed: 66)
        let c = Tensor(a, shape: [2, 3, 4]).matmul(Tensor(b, shape: [4, 2]))
        #expect(c.shape == [2, 3, 2])
        let expected = referenceMatmul(Array(a[0..<12]), b, m: 3, k: 4, n: 2) + referenceMatmul(Array(a[12...]), b, m: 3, k: 4, n: 2)
        #expect(maxAbsDifference(c.scalars, expected) < 1e-5)
    }

    @Test func vectorOperands() {
        let m = Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        #expect(m.matmul(Tensor([1, 0, -1] as [Float])).scalars == [-2, -2])
        #expect(Tensor([1, 1] as [Float]).matmul(m).scalars == [5, 7, 9])
    }

    @Test func linearLayerMatchesFormula() {
        let x = fixtureValues(4 * 6, seed: 67), w = fixtureValues(3 * 6, seed: 68), b: [Float] = [0.5, -1, 2]
        let y = linear(Tensor(x, shape: [4, 6]), Tensor(w, shape: [3, 6]), bias: Tensor(b))
        let wt = (0..<18).map { w[($0 % 3) * 6 + $0 / 3] }
        let expected = referenceMatmul(x, wt, m: 4, k: 6, n: 3).enumerated().map { $0.element + b[$0.offset % 3] }
        #expect(maxAbsDifference(y.scalars, expected) < 1e-5)
        let y3 = linear(Tensor(x, shape: [2, 2, 6]), Tensor(w, shape: [3, 6]))
        #expect(y3.shape == [2, 2, 3])
    }
}
