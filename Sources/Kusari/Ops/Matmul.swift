import CDNNL

/// Matrix products on oneDNN's SGEMM, reading transposed views without copying them. Operands
/// may also be float16 or bfloat16 (both the same): a GPU multiplies them as they are, the CPU
/// widens them to float32 (exactly) first; the product is float32 either way.
enum GEMM {
    /// A 2-d plain operand as SGEMM sees it: pointer, whether it is transposed, leading dim.
    struct Operand {
        let tensor: Tensor
        let transposed: Bool
        let leadingDimension: Int

        /// Uses `matrix` in place when it is row-major or a transposed row-major view.
        init(_ matrix: Tensor) {
            let (rows, columns) = (matrix.shape[0], matrix.shape[1])
            if matrix.storage.blockedLayout == nil, matrix.strides[1] == 1 || columns == 1, matrix.strides[0] >= Swift.max(columns, 1) {
                tensor = matrix; transposed = false; leadingDimension = Swift.max(matrix.strides[0], 1)
            } else if matrix.storage.blockedLayout == nil, matrix.strides[0] == 1 || rows == 1, matrix.strides[1] >= Swift.max(rows, 1) {
                tensor = matrix; transposed = true; leadingDimension = Swift.max(matrix.strides[1], 1)
            } else {
                let dense = matrix.contiguousCopy().detach()
                tensor = dense; transposed = false; leadingDimension = Swift.max(columns, 1)
            }
        }

        /// The operand as a `[rows, columns]` view with one unit stride, as a device backend
        /// takes it.
        var view: Tensor {
            let (rows, columns) = (tensor.shape[0], tensor.shape[1])
            let strides = transposed ? [1, leadingDimension] : [leadingDimension, 1]
            return Tensor(storage: tensor.storage, shape: [rows, columns], strides: strides, offset: tensor.offset,
                          dtype: tensor.dtype)
        }
    }

    /// `output = a @ b + beta * output` for 2-d `a` [M, K] and `b` [K, N] of one float dtype
    /// (detached); `output` is dense float32 [M, N].
    static func multiply(_ a: Tensor, _ b: Tensor, into output: Tensor, beta: Float = 0) {
        require(a.dtype == b.dtype && a.dtype.isFloatingPoint, "matmul operands must share a float dtype, got \(a.dtype) and \(b.dtype)")
        let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
        if m == 0 || n == 0 { return }
        if k == 0 { if beta == 0 { output.fill(0) }; return }
        if let operations = DeviceDispatch.operations("matmul", [a, b, output]) {
            let (x, y) = (Operand(a).view, Operand(b).view)
            DeviceDispatch.run("matmul") { try operations.matmul(x, y, into: output, beta: beta) }
            return
        }
        if a.dtype != .float32 { return multiply(a.to(.float32), b.to(.float32), into: output, beta: beta) }
        let lhs = Operand(a), rhs = Operand(b)
        OpProfiler.measure("gemm") {
        DNNL.check(dnnl_sgemm(lhs.transposed ? 84 : 78, rhs.transposed ? 84 : 78, dnnl_dim_t(m), dnnl_dim_t(n),
                              dnnl_dim_t(k), 1, lhs.tensor.floats, dnnl_dim_t(lhs.leadingDimension),
                              rhs.tensor.floats, dnnl_dim_t(rhs.leadingDimension), beta, output.floats, dnnl_dim_t(n)),
                   "dnnl_sgemm")
        }
    }

    /// `a @ b` (float32) for 2-d operands on their device, no autodiff.
    static func product(_ a: Tensor, _ b: Tensor) -> Tensor {
        let output = Tensor.uninitialized([a.shape[0], b.shape[1]], on: a.device)
        multiply(a, b, into: output)
        return output
    }
}

extension Tensor {
    /// Matrix product. 1-d operands are treated as vectors, and leading axes of higher-rank
    /// operands are batch axes that broadcast (NumPy `matmul` rules). Under ``Autocast`` the
    /// operands (and, in the backward pass, the output gradient) are rounded to the autocast
    /// dtype and multiplied with float32 accumulation into a float32 result.
    public func matmul(_ other: Tensor) -> Tensor {
        require(dtype == .float32 && other.dtype == .float32,
                "matmul needs float32 tensors (float16/bfloat16 products run through Autocast), got \(dtype) and \(other.dtype)")
        require(rank >= 1 && other.rank >= 1, "matmul needs tensors with at least one axis")
        if rank == 1 { return unsqueeze(axis: 0).matmul(other).squeeze(axis: -2) }
        if other.rank == 1 { return matmul(other.unsqueeze(axis: 1)).squeeze(axis: -1) }
        require(shape[rank - 1] == other.shape[other.rank - 2],
                "matmul: inner dimensions differ, \(shape) @ \(other.shape)")
        if rank == 2 && other.rank == 2 {
            let precision = Autocast.dtype
            let (a, b) = (detach().rounded(to: precision), other.detach().rounded(to: precision))
            let result = GEMM.product(a, b)
            return Tensor.record("matmul", result, inputs: [self, other]) { grad in
                let g = grad.rounded(to: precision)
                return [self.requiresGrad ? GEMM.product(g, b.transpose()) : nil,
                        other.requiresGrad ? GEMM.product(a.transpose(), g) : nil]
            }
        }
        return batchedMatmul(other)
    }

    private func batchedMatmul(_ other: Tensor) -> Tensor {
        let batchA = Array(shape.dropLast(2)), batchB = Array(other.shape.dropLast(2))
        guard let batch = Shape.broadcast(batchA, batchB) else {
            fatalError("Kusari: matmul batch shapes \(batchA) and \(batchB) do not broadcast")
        }
        let (m, k, n) = (shape[rank - 2], shape[rank - 1], other.shape[other.rank - 1])
        let a = expand(batch + [m, k]).contiguous().reshape([-1, m, k])
        let b = other.expand(batch + [k, n]).contiguous().reshape([-1, k, n])
        let count = Shape.count(batch)
        let result = Tensor.uninitialized([count, m, n], on: device)
        let (rawA, rawB) = (a.detach(), b.detach())
        let precision = Autocast.dtype
        let (lowA, lowB) = (rawA.rounded(to: precision), rawB.rounded(to: precision))
        for i in 0..<count {
            GEMM.multiply(lowA.slice(axis: 0, start: i, end: i + 1).reshapeRaw([m, k]),
                          lowB.slice(axis: 0, start: i, end: i + 1).reshapeRaw([k, n]),
                          into: result.slice(axis: 0, start: i, end: i + 1).detach().reshapeRaw([m, n]))
        }
        let output = Tensor.record("batchedMatmul", result, inputs: [a, b]) { grad in
            Autocast.run(precision) { [grad.matmul(rawB.transpose()), rawA.transpose().matmul(grad)] }
        }
        return output.reshape(batch + [m, n])
    }

    /// This detached tensor converted to `precision` (an autocast dtype), or itself for `nil`.
    fileprivate func rounded(to precision: DType?) -> Tensor {
        precision.map { to($0) } ?? self
    }
}

/// `x @ weight^T + bias`, the fully connected layer, for `x` of shape `[..., in]` and `weight`
/// of shape `[out, in]`. Under ``Autocast``, `x` and `weight` (and, in the backward pass, the
/// output gradient) are rounded to the autocast dtype and multiplied with float32 accumulation;
/// the bias, its gradient and the result stay float32.
public func linear(_ input: Tensor, _ weight: Tensor, bias: Tensor? = nil) -> Tensor {
    require(input.dtype == .float32 && weight.dtype == .float32 && (bias?.dtype ?? .float32) == .float32,
            "linear needs float32 tensors (float16/bfloat16 products run through Autocast), got input \(input.dtype), "
            + "weight \(weight.dtype)" + (bias.map { ", bias \($0.dtype)" } ?? ""))
    require(weight.rank == 2, "linear weight must be [out, in], got \(weight.shape)")
    let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
    require(input.shape.last == inFeatures, "linear: input \(input.shape) does not end in \(inFeatures) features")
    if let bias { require(bias.shape == [outFeatures], "linear bias must be [\(outFeatures)], got \(bias.shape)") }
    let leading = Array(input.shape.dropLast())
    let precision = Autocast.dtype
    let x = input.contiguous().detach().reshapeRaw([-1, inFeatures]).rounded(to: precision)
    let rows = x.shape[0]
    let output = Tensor.uninitialized([rows, outFeatures], on: input.device)
    if let bias {
        if let operations = DeviceDispatch.operations("linear", [input, weight, bias]) {
            DeviceDispatch.run("linear") { try operations.copy(bias.detach().expand([rows, outFeatures]), into: output) }
        } else {
            let b = bias.contiguous().floats, out = output.floats
            for r in 0..<rows { (out + r * outFeatures).update(from: b, count: outFeatures) }
        }
    }
    let w = weight.contiguous().detach().rounded(to: precision)
    GEMM.multiply(x, w.transpose(), into: output, beta: bias == nil ? 0 : 1)
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    let result = Tensor.record("linear", output, inputs: inputs) { grad in
        let dy = grad.contiguous().reshapeRaw([rows, outFeatures])
        let lowDy = dy.rounded(to: precision)
        return [input.requiresGrad ? GEMM.product(lowDy, w).reshapeRaw(input.shape) : nil,
                weight.requiresGrad ? GEMM.product(lowDy.transpose(), x) : nil] +
               (bias != nil ? [dy.sum(axis: 0)] : [])
    }
    return leading.count == 1 ? result : result.reshape(leading + [outFeatures])
}
