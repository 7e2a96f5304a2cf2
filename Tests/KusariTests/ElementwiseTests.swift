import Foundation
import Testing
@testable import Kusari

/// Reference broadcasting: applies `op` elementwise by explicit index arithmetic.
func broadcastReference(_ a: [Float], _ aShape: [Int], _ b: [Float], _ bShape: [Int],
                        _ op: (Float, Float) -> Float) -> (values: [Float], shape: [Int]) {
    let rank = max(aShape.count, bShape.count)
    let pa = [Int](repeating: 1, count: rank - aShape.count) + aShape
    let pb = [Int](repeating: 1, count: rank - bShape.count) + bShape
    let shape = zip(pa, pb).map { max($0, $1) }
    var values: [Float] = []
    for flat in 0..<shape.reduce(1, *) {
        var rest = flat, ia = 0, ib = 0, sa = 1, sb = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            let i = rest % shape[axis]
            rest /= shape[axis]
            ia += (pa[axis] == 1 ? 0 : i) * sa
            ib += (pb[axis] == 1 ? 0 : i) * sb
            sa *= pa[axis]
            sb *= pb[axis]
        }
        values.append(op(a[ia], b[ib]))
    }
    return (values, shape)
}

struct ElementwiseForwardTests {
    typealias Binary = (name: String, op: (Tensor, Tensor) -> Tensor, reference: (Float, Float) -> Float)
    static let binaries: [Binary] = [
        ("add", { $0 + $1 }, { $0 + $1 }),
        ("sub", { $0 - $1 }, { $0 - $1 }),
        ("mul", { $0 * $1 }, { $0 * $1 }),
        ("div", { $0 / $1 }, { $0 / $1 }),
        ("maximum", { $0.maximum($1) }, { Swift.max($0, $1) }),
        ("minimum", { $0.minimum($1) }, { Swift.min($0, $1) }),
        ("pow", { $0.pow($1) }, { Foundation.pow($0, $1) }),
    ]

    @Test(arguments: [([2, 3], [3]), ([2, 1, 4], [3, 1]), ([3, 1], [2, 1, 4]), ([4], []), ([], [2, 2]), ([2, 3], [2, 3]),
                      ([1, 5], [4, 1])])
    func binaryOpsBroadcast(_ aShape: [Int], _ bShape: [Int]) {
        let a = testValues(Shape.count(aShape), seed: 1, low: 0.5, high: 2)
        let b = testValues(Shape.count(bShape), seed: 2, low: -1.5, high: 1.5).map { $0 < 0 ? $0 - 0.25 : $0 + 0.25 }
        for binary in Self.binaries {
            let result = binary.op(Tensor(a, shape: aShape), Tensor(b, shape: bShape))
            let expected = broadcastReference(a, aShape, b, bShape, binary.reference)
            #expect(result.shape == expected.shape, "\(binary.name)")
            assertClose(result.scalars, expected.values, tolerance: 1e-6)
        }
    }

    @Test func scalarOperands() {
        let x = Tensor([1, -2, 3, 0.5], shape: [2, 2])
        assertClose((x + 1).scalars, [2, -1, 4, 1.5])
        assertClose((1 - x).scalars, [0, 3, -2, 0.5])
        assertClose((x * 3).scalars, [3, -6, 9, 1.5])
        assertClose((x / 2).scalars, [0.5, -1, 1.5, 0.25])
        assertClose((2 / x).scalars, [2, -1, 2.0 / 3, 4])
        assertClose((-x).scalars, [-1, 2, -3, -0.5])
        assertClose(x.pow(3).scalars, [1, -8, 27, 0.125])
        assertClose(x.pow(2).scalars, [1, 4, 9, 0.25])
    }

    @Test func stridedOperandsMatchDenseOnes() {
        let a = testTensor([3, 4], seed: 3), b = testTensor([4, 3], seed: 4)
        let viaView = a + b.transpose()
        let dense = a + b.transpose().contiguous()
        assertClose(viaView.scalars, dense.scalars, tolerance: 0)
        let bt = b.scalars
        let at = a.scalars
        let expected: [Float] = (0..<12).map { i in at[i] + bt[(i % 4) * 3 + i / 4] }
        assertClose(viaView.scalars, expected, tolerance: 0)
        let sliced = a.slice(axis: 1, start: 0, end: 4, step: 2) * Tensor([10, 100], shape: [2])
        let av = a.scalars
        let expectedSlice: [Float] = (0..<6).map { i in
            let scale: Float = i % 2 == 0 ? 10 : 100
            return av[(i / 2) * 4 + (i % 2) * 2] * scale
        }
        assertClose(sliced.scalars, expectedSlice)
    }

    @Test func incompatibleShapesDoNotBroadcast() {
        #expect(Shape.broadcast([2, 3], [4]) == nil)
        #expect(Shape.broadcast([2, 3], [3, 2]) == nil)
        #expect(Shape.broadcast([5, 1, 3], [2, 4]) == nil)
        #expect(Shape.broadcast([5, 1, 3], [4, 1]) == [5, 4, 3])
        #expect(Shape.broadcast([], [2, 3]) == [2, 3])
        #expect(Shape.broadcast([0, 1], [1, 3]) == [0, 3])
    }

    typealias Unary = (name: String, op: (Tensor) -> Tensor, reference: (Double) -> Double, low: Float, high: Float)
    static let unaries: [Unary] = [
        ("exp", { $0.exp() }, { Foundation.exp($0) }, -3, 3),
        ("log", { $0.log() }, { Foundation.log($0) }, 0.01, 5),
        ("sqrt", { $0.sqrt() }, { $0.squareRoot() }, 0, 9),
        ("abs", { $0.abs() }, { Swift.abs($0) }, -3, 3),
        ("tanh", { $0.tanh() }, { Foundation.tanh($0) }, -4, 4),
        ("sigmoid", { $0.sigmoid() }, { 1 / (1 + Foundation.exp(-$0)) }, -8, 8),
        ("softplus", { $0.softplus() }, { Foundation.log(1 + Foundation.exp($0)) }, -8, 8),
        ("sin", { $0.sin() }, { Foundation.sin($0) }, -4, 4),
        ("cos", { $0.cos() }, { Foundation.cos($0) }, -4, 4),
        ("square", { $0.square() }, { $0 * $0 }, -3, 3),
        ("clamp", { $0.clamp(min: -0.5, max: 1) }, { Swift.min(Swift.max($0, -0.5), 1) }, -2, 2),
    ]

    @Test func unaryMathMatchesFoundation() {
        for unary in Self.unaries {
            let x = testValues(257, seed: 5, low: unary.low, high: unary.high)
            let result = unary.op(Tensor(x, shape: [257])).scalars
            assertClose(result, x.map { Float(unary.reference(Double($0))) }, tolerance: 2e-6)
        }
    }

    @Test func extremeInputsStayFinite() {
        let x = Tensor([-100, -30, 0, 30, 100], shape: [5])
        assertClose(x.sigmoid().scalars, [0, 9.357623e-14, 0.5, 1, 1], tolerance: 1e-7)
        assertClose(x.softplus().scalars, [0, 9.357623e-14, Float(Foundation.log(2.0)), 30, 100], tolerance: 1e-6)
        assertClose(x.tanh().scalars, [-1, -1, 0, 1, 1])
        #expect(x.clamp(min: 0).scalars == [0, 0, 0, 30, 100])
        #expect(x.clamp(max: 0).scalars == [-100, -30, 0, 0, 0])
    }

    @Test func largeTensorsUseEveryThread() {
        // Above the parallel grain: each chunk must land in the right place.
        let n = 300_001
        let a = Tensor.arange(0, Float(n)), b = Tensor.full([n], 2)
        let result = (a * b + Tensor(scalar: 1)).scalars
        #expect(result.count == n)
        expectAll(Array(result.enumerated()), "2i + 1") { $0.element == Float(2 * $0.offset + 1) }
        let e = a.slice(axis: 0, start: 0, end: 1000).sigmoid().scalars
        #expect(e[0] == 0.5 && e[999] == 1)
    }
}

struct ElementwiseGradientTests {
    @Test(arguments: [([2, 3], [3]), ([2, 1, 4], [3, 1]), ([3], [2, 3]), ([2, 2], [])])
    func arithmeticBroadcastGradients(_ aShape: [Int], _ bShape: [Int]) {
        let a = testTensor(aShape, seed: 11, low: 0.5, high: 2), b = testTensor(bShape, seed: 12, low: 0.5, high: 2)
        checkGradients([a, b]) { $0[0] + $0[1] }
        checkGradients([a, b]) { $0[0] - $0[1] }
        checkGradients([a, b]) { $0[0] * $0[1] }
        checkGradients([a, b]) { $0[0] / $0[1] }
        checkGradients([a, b]) { $0[0].pow($0[1]) }
        checkGradients([a, b]) { -$0[0] * 3 + 2 / $0[1] }
    }

    @Test func maximumAndMinimumRouteToLargerAndSmaller() {
        let a = testTensor([3, 4], seed: 13)
        let gaps = testValues(12, seed: 14, low: 0.2, high: 1).enumerated().map { $0.offset % 2 == 0 ? $0.element : -$0.element }
        let b = Tensor(zip(a.scalars, gaps).map { $0 + $1 }, shape: [3, 4])
        checkGradients([a, b]) { $0[0].maximum($0[1]) }
        checkGradients([a, b]) { $0[0].minimum($0[1]) }
        // Broadcast operand: the row vector wins in some places and loses in others.
        let row = Tensor([0.05, -0.35, 0.45, -0.75], shape: [4])
        let grid = Tensor([-0.5, 0.3, -0.1, 0.9, 0.6, -0.6, 0.8, -0.2, 0.25, 0.15, 0.2, -0.45], shape: [3, 4])
        checkGradients([grid, row]) { $0[0].maximum($0[1]) }
        checkGradients([grid, row]) { $0[0].minimum($0[1]) }
    }

    @Test func unaryGradients() {
        let anywhere = testTensor([2, 5], seed: 15, low: -2, high: 2)
        let positive = testTensor([2, 5], seed: 16, low: 0.3, high: 3)
        let awayFromZero = Tensor(testValues(10, seed: 17, low: 0.1, high: 2).enumerated().map { $0.offset % 3 == 0 ? -$0.element : $0.element }, shape: [10])
        checkGradients([anywhere]) { $0[0].exp() }
        checkGradients([positive]) { $0[0].log() }
        checkGradients([positive]) { $0[0].sqrt() }
        checkGradients([awayFromZero]) { $0[0].abs() }
        checkGradients([anywhere]) { $0[0].tanh() }
        checkGradients([anywhere]) { $0[0].sigmoid() }
        checkGradients([anywhere]) { $0[0].softplus() }
        checkGradients([anywhere]) { $0[0].sin() }
        checkGradients([anywhere]) { $0[0].cos() }
        checkGradients([anywhere]) { $0[0].square() }
        checkGradients([positive]) { $0[0].pow(1.5) }
        checkGradients([positive]) { $0[0].pow(-2) }
        let clampable = Tensor([-1.5, -0.3, 0.2, 0.7, 1.4, 2.5], shape: [6])
        checkGradients([clampable]) { $0[0].clamp(min: -0.5, max: 1) }
        checkGradients([clampable]) { $0[0].clamp(min: 0.5) }
    }

    @Test func clampGradientIsZeroOutsideTheRange() {
        let x = Tensor([-2, 0.5, 3], shape: [3]).requiringGrad()
        x.clamp(min: 0, max: 1).sum().backward()
        #expect(x.grad?.scalars == [0, 1, 0])
    }

    @Test func whereRoutesGradientsToTheChosenBranch() {
        let a = testTensor([2, 3], seed: 18), b = testTensor([3], seed: 19)
        let condition = Tensor([UInt8(1), 0, 1, 0, 0, 1], shape: [2, 3])
        let result = Tensor.where(condition, a, b)
        let av = a.scalars, bv = b.scalars
        #expect(result.scalars == [av[0], bv[1], av[2], bv[0], bv[1], av[5]])
        checkGradients([a, b]) { Tensor.where(condition, $0[0], $0[1]) }
    }
}
