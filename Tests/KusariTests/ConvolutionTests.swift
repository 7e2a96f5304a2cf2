import Testing
@testable import Kusari

/// Direct-loop reference convolution (cross-correlation) on NCHW data, in Double.
func referenceConv2d(_ x: [Float], _ xShape: [Int], _ w: [Float], _ wShape: [Int], bias: [Float]?,
                     stride: [Int], padding: [Int], dilation: [Int], groups: Int) -> (values: [Float], shape: [Int]) {
    let (n, c, h, width) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let (o, cg, kh, kw) = (wShape[0], wShape[1], wShape[2], wShape[3])
    let oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) / stride[0] + 1
    let ow = (width + 2 * padding[1] - dilation[1] * (kw - 1) - 1) / stride[1] + 1
    let og = o / groups
    var out = [Float](repeating: 0, count: n * o * oh * ow)
    for b in 0..<n { for oc in 0..<o { for y in 0..<oh { for xo in 0..<ow {
        let g = oc / og
        var total = Double(bias?[oc] ?? 0)
        for ic in 0..<cg { for i in 0..<kh { for j in 0..<kw {
            let iy = y * stride[0] - padding[0] + i * dilation[0]
            let ix = xo * stride[1] - padding[1] + j * dilation[1]
            guard iy >= 0, iy < h, ix >= 0, ix < width else { continue }
            let channel = g * cg + ic
            total += Double(x[((b * c + channel) * h + iy) * width + ix]) * Double(w[((oc * cg + ic) * kh + i) * kw + j])
        } } }
        out[((b * o + oc) * oh + y) * ow + xo] = Float(total)
    } } } }
    return (out, [n, o, oh, ow])
}

/// Deterministic pseudo-random values in [-1, 1) for fixtures.
func fixtureValues(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state >> 11) % 1_000_000) / 1_000_000 * 2 - 1
    }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
}

struct ConvolutionForwardTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let input: [Int], weight: [Int], stride: [Int], padding: [Int], dilation: [Int], groups: Int, bias: Bool
        var testDescription: String { "x\(input) w\(weight) s\(stride) p\(padding) d\(dilation) g\(groups)" }
    }

    static let cases: [Case] = [
        Case(input: [2, 3, 8, 8], weight: [4, 3, 3, 3], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, bias: true),
        Case(input: [1, 3, 9, 7], weight: [5, 3, 5, 5], stride: [2, 1], padding: [2, 2], dilation: [1, 1], groups: 1, bias: false),
        Case(input: [2, 16, 6, 6], weight: [16, 16, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true),
        Case(input: [1, 4, 10, 10], weight: [6, 2, 3, 3], stride: [1, 1], padding: [2, 2], dilation: [2, 2], groups: 2, bias: true),
        Case(input: [3, 8, 5, 5], weight: [8, 1, 3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 8, bias: false),
    ]

    @Test(arguments: cases)
    func matchesDirectLoops(_ c: Case) {
        let x = fixtureValues(Shape.count(c.input), seed: 1), w = fixtureValues(Shape.count(c.weight), seed: 2)
        let b = c.bias ? fixtureValues(c.weight[0], seed: 3) : nil
        let result = conv2d(Tensor(x, shape: c.input), Tensor(w, shape: c.weight), bias: b.map { Tensor($0) },
                            stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
        let reference = referenceConv2d(x, c.input, w, c.weight, bias: b, stride: c.stride, padding: c.padding,
                                        dilation: c.dilation, groups: c.groups)
        #expect(result.shape == reference.shape)
        #expect(maxAbsDifference(result.scalars, reference.values) < 1e-4)
    }

    @Test func chainOfBlockedOpsMatchesPlainComputation() {
        // conv → relu → maxpool → conv stays in oneDNN's blocked layouts; compare with the reference.
        let x = fixtureValues(2 * 3 * 12 * 12, seed: 4), w1 = fixtureValues(16 * 3 * 3 * 3, seed: 5)
        let w2 = fixtureValues(8 * 16 * 3 * 3, seed: 6)
        let h = relu(conv2d(Tensor(x, shape: [2, 3, 12, 12]), Tensor(w1, shape: [16, 3, 3, 3]), padding: [1, 1]))
        let pooled = maxPool2d(h, kernelSize: [2, 2])
        let y = conv2d(pooled, Tensor(w2, shape: [8, 16, 3, 3]))
        let r1 = referenceConv2d(x, [2, 3, 12, 12], w1, [16, 3, 3, 3], bias: nil, stride: [1, 1], padding: [1, 1],
                                 dilation: [1, 1], groups: 1)
        let relued = r1.values.map { Swift.max($0, 0) }
        var pooledReference = [Float](repeating: 0, count: 2 * 16 * 6 * 6)
        for n in 0..<2 { for c in 0..<16 { for i in 0..<6 { for j in 0..<6 {
            var m = -Float.infinity
            for di in 0..<2 { for dj in 0..<2 { m = Swift.max(m, relued[((n * 16 + c) * 12 + 2 * i + di) * 12 + 2 * j + dj]) } }
            pooledReference[((n * 16 + c) * 6 + i) * 6 + j] = m
        } } } }
        let r2 = referenceConv2d(pooledReference, [2, 16, 6, 6], w2, [8, 16, 3, 3], bias: nil, stride: [1, 1],
                                 padding: [0, 0], dilation: [1, 1], groups: 1)
        #expect(y.shape == [2, 8, 4, 4])
        #expect(maxAbsDifference(y.scalars, r2.values) < 1e-3)
    }
}
