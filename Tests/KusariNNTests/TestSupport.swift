import Foundation
import Kusari
import KusariNN
import Testing

/// Deterministic values in [-1, 1) from a small LCG, independent of Kusari's generator.
func lcgValues(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float((state >> 40) & 0xFFFFFF) / Float(1 << 23) - 1
    }
}

/// A float tensor of `shape` with ``lcgValues(_:seed:)``, optionally requiring gradients.
func lcgTensor(_ shape: [Int], seed: UInt64, scale: Float = 1, requiresGrad: Bool = false) -> Tensor {
    Tensor(lcgValues(shape.reduce(1, *), seed: seed).map { $0 * scale }, shape: shape).requiringGrad(requiresGrad)
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
}

/// Overwrites a contiguous float tensor's values in place.
func setValues(_ tensor: Tensor, _ values: [Float]) {
    tensor.withUnsafeMutableFloats { buffer in
        for i in buffer.indices { buffer[i] = values[i] }
    }
}

/// Compares the gradients that autodiff gives for `loss()` with respect to `inputs` against
/// central finite differences, element by element. `loss` must return a single-element tensor
/// and be deterministic; it is re-evaluated twice per element of every input.
/// Returns a list of human-readable mismatches (empty when everything agrees).
func gradientMismatches(of inputs: [Tensor], epsilon: Float = 1e-2, relativeTolerance: Float = 2e-2,
                        absoluteTolerance: Float = 2e-3, loss: () -> Tensor) -> [String] {
    for input in inputs { input.zeroGrad() }
    loss().backward()
    var mismatches: [String] = []
    for (position, input) in inputs.enumerated() {
        let analytic = input.grad?.scalars ?? [Float](repeating: 0, count: input.count)
        for index in 0..<input.count {
            let original = input.withUnsafeMutableFloats { $0[index] }
            input.withUnsafeMutableFloats { $0[index] = original + epsilon }
            let plus = withNoGrad { loss().item() }
            input.withUnsafeMutableFloats { $0[index] = original - epsilon }
            let minus = withNoGrad { loss().item() }
            input.withUnsafeMutableFloats { $0[index] = original }
            let numeric = (plus - minus) / (2 * epsilon)
            let tolerance = absoluteTolerance + relativeTolerance * Swift.max(Swift.abs(numeric), Swift.abs(analytic[index]))
            if Swift.abs(numeric - analytic[index]) > tolerance {
                mismatches.append("input \(position)[\(index)]: autodiff \(analytic[index]), numeric \(numeric)")
            }
        }
    }
    return mismatches
}

/// A scalar loss `Σ output · weights` with fixed pseudo-random weights, so every output element
/// gets a different, non-trivial upstream gradient.
func weightedSum(_ output: Tensor, seed: UInt64 = 99) -> Tensor {
    (output * Tensor(lcgValues(output.count, seed: seed), shape: output.shape)).sum()
}

/// Direct-loop cross-correlation on NCHW data (reference for Conv2d), in Double.
func naiveConv2d(_ x: Tensor, _ w: Tensor, bias: Tensor?, stride: [Int], padding: [Int], dilation: [Int],
                 groups: Int) -> (values: [Float], shape: [Int]) {
    let xs = x.scalars, ws = w.scalars, bs = bias?.scalars
    let (n, c, h, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) / stride[0] + 1
    let ow = (width + 2 * padding[1] - dilation[1] * (kw - 1) - 1) / stride[1] + 1
    let og = o / groups
    var out = [Float](repeating: 0, count: n * o * oh * ow)
    for b in 0..<n { for oc in 0..<o { for y in 0..<oh { for xo in 0..<ow {
        var total = Double(bs?[oc] ?? 0)
        for ic in 0..<cg { for i in 0..<kh { for j in 0..<kw {
            let iy = y * stride[0] - padding[0] + i * dilation[0]
            let ix = xo * stride[1] - padding[1] + j * dilation[1]
            guard iy >= 0, iy < h, ix >= 0, ix < width else { continue }
            let channel = (oc / og) * cg + ic
            total += Double(xs[((b * c + channel) * h + iy) * width + ix]) * Double(ws[((oc * cg + ic) * kh + i) * kw + j])
        } } }
        out[((b * o + oc) * oh + y) * ow + xo] = Float(total)
    } } } }
    return (out, [n, o, oh, ow])
}

/// Direct-loop transposed convolution (scatter form) with an explicit output size.
func naiveConvTranspose2d(_ x: Tensor, _ w: Tensor, bias: Tensor?, stride: [Int], padding: [Int],
                          dilation: [Int] = [1, 1], groups: Int, outputSize: [Int]) -> [Float] {
    let xs = x.scalars, ws = w.scalars, bs = bias?.scalars
    let (n, c, h, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (og, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
    let o = og * groups, cg = c / groups
    let (oh, ow) = (outputSize[0], outputSize[1])
    var out = [Double](repeating: 0, count: n * o * oh * ow)
    for b in 0..<n { for ic in 0..<c { for iy in 0..<h { for ix in 0..<width {
        let value = Double(xs[((b * c + ic) * h + iy) * width + ix])
        let g = ic / cg
        for oc in 0..<og { for i in 0..<kh { for j in 0..<kw {
            let y = iy * stride[0] - padding[0] + i * dilation[0]
            let xo = ix * stride[1] - padding[1] + j * dilation[1]
            guard y >= 0, y < oh, xo >= 0, xo < ow else { continue }
            out[((b * o + g * og + oc) * oh + y) * ow + xo] += value * Double(ws[((ic * og + oc) * kh + i) * kw + j])
        } } }
    } } } }
    if let bs {
        for b in 0..<n { for oc in 0..<o { for p in 0..<(oh * ow) { out[(b * o + oc) * oh * ow + p] += Double(bs[oc]) } } }
    }
    return out.map { Float($0) }
}
