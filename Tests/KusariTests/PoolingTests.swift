import Testing
@testable import Kusari

/// Direct-loop pooling reference following PyTorch's rules (ceil mode, padding, include-pad divisor).
func referencePool(_ x: [Float], _ shape: [Int], kernel: [Int], stride: [Int], padding: [Int], ceilMode: Bool,
                   average: Bool, countIncludePad: Bool = true) -> (values: [Float], shape: [Int]) {
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    func outSize(_ size: Int, _ i: Int) -> Int {
        let span = size + 2 * padding[i] - kernel[i]
        var out = (ceilMode ? (span + stride[i] - 1) / stride[i] : span / stride[i]) + 1
        if ceilMode && (out - 1) * stride[i] >= size + padding[i] { out -= 1 }
        return out
    }
    let (oh, ow) = (outSize(h, 0), outSize(w, 1))
    var out = [Float](repeating: 0, count: n * c * oh * ow)
    for b in 0..<n { for ch in 0..<c { for i in 0..<oh { for j in 0..<ow {
        let y0 = i * stride[0] - padding[0], x0 = j * stride[1] - padding[1]
        let y1 = Swift.min(y0 + kernel[0], h + padding[0]), x1 = Swift.min(x0 + kernel[1], w + padding[1])
        let poolSize = (y1 - y0) * (x1 - x0)
        var best = -Float.infinity, total: Double = 0, counted = 0
        for row in Swift.max(y0, 0)..<Swift.min(y1, h) { for column in Swift.max(x0, 0)..<Swift.min(x1, w) {
            let v = x[((b * c + ch) * h + row) * w + column]
            best = Swift.max(best, v); total += Double(v); counted += 1
        } }
        out[((b * c + ch) * oh + i) * ow + j] = average ? Float(total / Double(countIncludePad ? poolSize : counted)) : best
    } } } }
    return (out, [n, c, oh, ow])
}

struct PoolingTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let shape: [Int], kernel: [Int], stride: [Int], padding: [Int], ceil: Bool
        var testDescription: String { "x\(shape) k\(kernel) s\(stride) p\(padding) ceil=\(ceil)" }
    }

    static let cases = [
        Case(shape: [2, 3, 8, 8], kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceil: false),
        Case(shape: [2, 16, 28, 28], kernel: [4, 4], stride: [4, 4], padding: [0, 0], ceil: false),
        Case(shape: [1, 8, 24, 24], kernel: [3, 3], stride: [2, 2], padding: [0, 0], ceil: true),
        Case(shape: [1, 8, 12, 12], kernel: [3, 3], stride: [2, 2], padding: [0, 0], ceil: true),
        Case(shape: [2, 4, 32, 32], kernel: [4, 4], stride: [2, 2], padding: [0, 0], ceil: false),
        Case(shape: [1, 3, 7, 9], kernel: [3, 3], stride: [2, 2], padding: [1, 1], ceil: false),
        Case(shape: [1, 3, 32, 32], kernel: [3, 3], stride: [2, 2], padding: [0, 0], ceil: true),
    ]

    @Test(arguments: cases)
    func maxPoolingMatchesReference(_ c: Case) {
        let x = fixtureValues(Shape.count(c.shape), seed: 11)
        let result = maxPool2d(Tensor(x, shape: c.shape), kernelSize: c.kernel, stride: c.stride, padding: c.padding,
                               ceilMode: c.ceil)
        let reference = referencePool(x, c.shape, kernel: c.kernel, stride: c.stride, padding: c.padding,
                                      ceilMode: c.ceil, average: false)
        #expect(result.shape == reference.shape)
        #expect(maxAbsDifference(result.scalars, reference.values) < 1e-6)
    }

    @Test(arguments: cases)
    func averagePoolingMatchesReference(_ c: Case) {
        let x = fixtureValues(Shape.count(c.shape), seed: 12)
        for include in [true, false] where !(c.ceil && c.padding != [0, 0]) {
            let result = avgPool2d(Tensor(x, shape: c.shape), kernelSize: c.kernel, stride: c.stride,
                                   padding: c.padding, ceilMode: c.ceil, countIncludePad: include)
            let reference = referencePool(x, c.shape, kernel: c.kernel, stride: c.stride, padding: c.padding,
                                          ceilMode: c.ceil, average: true, countIncludePad: include)
            #expect(result.shape == reference.shape)
            #expect(maxAbsDifference(result.scalars, reference.values) < 1e-5)
        }
    }

    @Test func seedPoolingSizes() {
        // TF 'SAME' pooling of the CIFAR-10 tutorial: 24 → 12 → 6; Chainer cover_all on SVHN: 32 → 16 → 8.
        let x = Tensor.zeros([1, 1, 24, 24])
        let p1 = maxPool2d(x, kernelSize: [3, 3], stride: [2, 2], ceilMode: true)
        #expect(p1.shape == [1, 1, 12, 12])
        #expect(maxPool2d(p1, kernelSize: [3, 3], stride: [2, 2], ceilMode: true).shape == [1, 1, 6, 6])
        let s = maxPool2d(Tensor.zeros([1, 1, 32, 32]), kernelSize: [3, 3], stride: [2, 2], ceilMode: true)
        #expect(s.shape == [1, 1, 16, 16])
        #expect(maxPool2d(s, kernelSize: [3, 3], stride: [2, 2], ceilMode: true).shape == [1, 1, 8, 8])
    }

    @Test func globalPooling() {
        let x = fixtureValues(2 * 3 * 4 * 5, seed: 13)
        let t = Tensor(x, shape: [2, 3, 4, 5])
        let average = globalAvgPool2d(t), maximum = globalMaxPool2d(t)
        #expect(average.shape == [2, 3] && maximum.shape == [2, 3])
        for i in 0..<6 {
            let window = x[(i * 20)..<(i * 20 + 20)]
            #expect(Swift.abs(average.scalars[i] - window.reduce(0, +) / 20) < 1e-5)
            #expect(maximum.scalars[i] == window.max()!)
        }
    }
}
