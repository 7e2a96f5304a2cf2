import Foundation
import Kusari

extension CUDABackend {
    /// `output = a @ b + beta * output`: cuBLAS SGEMM for float32 `a` and `b` (TF32 only when
    /// ``allowsTF32``), `cublasGemmEx` for float16 or bfloat16 ones (tensor cores, float32
    /// accumulation, `CUBLAS_COMPUTE_32F`); `output` is float32 either way.
    ///
    /// cuBLAS is column-major, where a row-major matrix reads as its transpose, so this computes
    /// `outputᵀ = bᵀ aᵀ`; each operand is used in place, row-major (unit column stride) or as a
    /// transposed row-major view (unit row stride), like the CPU's SGEMM.
    /// - Throws: ``Kusari/KusariError`` for shapes that do not chain, operands of different or
    ///   integer dtypes, an output other than float32, an operand without a unit stride, a
    ///   non-contiguous `output` or sizes beyond cuBLAS's 32-bit ones; ``CUDAError`` when cuBLAS
    ///   fails.
    public func matmul(_ a: Tensor, _ b: Tensor, into output: Tensor, beta: Float) throws {
        for (role, tensor) in [("a", a), ("b", b), ("output", output)] {
            guard tensor.rank == 2, tensor.device == device else {
                throw KusariError.invalidArgument("matmul \(role) must be a matrix on \(device), got "
                                                  + "\(tensor.dtype) \(tensor.shape) on \(tensor.device)")
            }
        }
        guard a.dtype == b.dtype, let inputType = CUBLAS.DataType(a.dtype) else {
            throw KusariError.invalidArgument("matmul on CUDA needs a and b of one dtype, float32, float16 or "
                                              + "bfloat16, got \(a.dtype) and \(b.dtype)")
        }
        guard output.dtype == .float32 else {
            throw KusariError.invalidArgument("matmul output must be float32, got \(output.dtype)")
        }
        let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
        guard b.shape[0] == k, output.shape == [m, n] else {
            throw KusariError.shapeMismatch("matmul of \(a.shape) and \(b.shape) into \(output.shape)")
        }
        guard output.isContiguous else {
            throw KusariError.invalidArgument("matmul output must be contiguous, got strides \(output.strides)")
        }
        if m == 0 || n == 0 { return }
        // Column-major: op(bᵀ) is n × k, op(aᵀ) is k × m, and the row-major output is n × m.
        let lhs = try GEMMOperand(b, "b"), rhs = try GEMMOperand(a, "a")
        try context.makeCurrent()
        let handle = try blas()
        if inputType == .float32 {
            try handle.sgemm(lhs.operation, rhs.operation, m: n, n: m, k: k, alpha: 1, a: Self.address(b),
                             lda: lhs.leadingDimension, b: Self.address(a), ldb: rhs.leadingDimension, beta: beta,
                             c: Self.address(output), ldc: Swift.max(n, 1))
        } else {
            try handle.gemmEx(lhs.operation, rhs.operation, m: n, n: m, k: k, alpha: 1, a: Self.address(b), inputType,
                              lda: lhs.leadingDimension, b: Self.address(a), inputType, ldb: rhs.leadingDimension,
                              beta: beta, c: Self.address(output), .float32, ldc: Swift.max(n, 1), compute: .float32)
        }
    }
}

extension CUBLAS.DataType {
    /// The `cudaDataType` of `dtype`'s elements, `nil` for the integer dtypes.
    init?(_ dtype: DType) {
        switch dtype {
        case .float32: self = .float32
        case .float16: self = .float16
        case .bfloat16: self = .bfloat16
        case .int32, .int64, .uint8: return nil
        }
    }
}

/// A row-major matrix operand as cuBLAS's column-major SGEMM reads its transpose.
private struct GEMMOperand {
    /// `.none` for a row-major matrix (its transpose is stored column-major), `.transpose` for
    /// a transposed row-major view.
    let operation: CUBLAS.Operation
    /// The column-major leading dimension.
    let leadingDimension: Int

    /// The operand for `matrix`, `[rows, columns]` with a unit stride along one axis (the
    /// rules of the CPU's `GEMM.Operand`).
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for other strides, or a leading
    ///   dimension beyond 32 bits.
    init(_ matrix: Tensor, _ role: String) throws {
        let (rows, columns) = (matrix.shape[0], matrix.shape[1])
        let (rowStride, columnStride) = (matrix.strides[0], matrix.strides[1])
        if (columnStride == 1 || columns == 1) && (rowStride >= Swift.max(columns, 1) || rows == 1) {
            operation = .none
            leadingDimension = Swift.max(rowStride, columns, 1)
        } else if (rowStride == 1 || rows == 1) && (columnStride >= Swift.max(rows, 1) || columns == 1) {
            operation = .transpose
            leadingDimension = Swift.max(columnStride, rows, 1)
        } else {
            throw KusariError.invalidArgument("matmul \(role) \(matrix.shape) with strides \(matrix.strides) is neither "
                                              + "row-major nor a transposed row-major view")
        }
        guard Int32(exactly: leadingDimension) != nil, Int32(exactly: rows) != nil, Int32(exactly: columns) != nil else {
            throw KusariError.invalidArgument("matmul \(role) \(matrix.shape) (strides \(matrix.strides)) exceeds "
                                              + "cuBLAS's 32-bit sizes")
        }
    }
}
