import Foundation
@testable import KusariCUDA

/// A stand-in for `libcublas` that computes on the CPU, for a ``CUDABackend`` on the
/// ``RecordingDriver`` (whose device memory is host memory): its GEMMs follow cuBLAS's
/// documented column-major contract, `C = alpha·op(A)·op(B) + beta·C` with `op(A)` `m × k` read
/// from `A` with leading dimension `lda` (and `C` not read when `beta` is 0), and refuse what
/// cuBLAS refuses with `CUBLAS_STATUS_INVALID_VALUE`: negative sizes, an unknown operation or
/// type, a leading dimension shorter than the stored matrix's rows.
///
/// So the backend's row-major-to-column-major translation (operations, leading dimensions,
/// which operand goes first) is checked numerically without a GPU.
final class ReferenceBLAS: StandInLibrary, @unchecked Sendable {
    let path = "CPU reference stand-in for libcublas"


    /// `CUBLAS_STATUS_INVALID_VALUE`.
    static let invalidValue: Int32 = 7

    /// One matrix operand as cuBLAS reads it.
    struct Operand {
        let address: CUdeviceptr
        let dataType: Int32
        let transposed: Bool
        let leadingDimension: Int

        /// Element `(row, column)` of `op(matrix)`.
        func element(_ row: Int, _ column: Int) -> Float {
            let index = transposed ? column + row * leadingDimension : row + column * leadingDimension
            return StandInElement(cublas: dataType).load(address, index)
        }
    }

    /// The column-major GEMM, after cuBLAS's argument checks.
    static func gemm(_ transA: Int32, _ transB: Int32, _ m: Int32, _ n: Int32, _ k: Int32, alpha: Float,
                     a: CUdeviceptr, typeA: Int32, lda: Int32, b: CUdeviceptr, typeB: Int32, ldb: Int32,
                     beta: Float, c: CUdeviceptr, typeC: Int32, ldc: Int32) -> Int32 {
        let operations: ClosedRange<Int32> = 0...1, types: Set<Int32> = [0, 2, 14]
        let (m, n, k) = (Int(m), Int(n), Int(k))
        guard m >= 0, n >= 0, k >= 0, operations.contains(transA), operations.contains(transB),
              types.contains(typeA), typeA == typeB, typeC == CUBLAS.DataType.float32.rawValue,
              Int(lda) >= max(1, transA == 0 ? m : k), Int(ldb) >= max(1, transB == 0 ? k : n),
              Int(ldc) >= max(1, m) else { return invalidValue }
        let left = Operand(address: a, dataType: typeA, transposed: transA == 1, leadingDimension: Int(lda))
        let right = Operand(address: b, dataType: typeB, transposed: transB == 1, leadingDimension: Int(ldb))
        let output = UnsafeMutablePointer<Float>(bitPattern: UInt(c))!
        for column in 0..<n {
            for row in 0..<m {
                var sum: Float = 0
                for inner in 0..<k { sum += left.element(row, inner) * right.element(inner, column) }
                let target = output + row + column * Int(ldc)
                target.pointee = alpha * sum + (beta == 0 ? 0 : beta * target.pointee)
            }
        }
        return 0
    }

    static let functions: [String: UnsafeMutableRawPointer] = {
        return [
            "cublasCreate_v2": standInEntry({ $0?.pointee = OpaquePointer(bitPattern: 0xb1a5); return 0 } as CUBLAS.Create),
            "cublasDestroy_v2": standInEntry({ _ in 0 } as CUBLAS.Destroy),
            "cublasGetVersion_v2": standInEntry({ _, version in version?.pointee = 120_901; return 0 } as CUBLAS.GetVersion),
            "cublasGetProperty": standInEntry({ property, value in value?.pointee = [12, 9, 1][Int(property)]; return 0 }
                                       as CUBLAS.GetProperty),
            "cublasSetStream_v2": standInEntry({ _, _ in 0 } as CUBLAS.SetStream),
            "cublasSetMathMode": standInEntry({ _, mode in [0, 3].contains(mode) ? 0 : ReferenceBLAS.invalidValue }
                                       as CUBLAS.SetMathMode),
            "cublasSgemm_v2": standInEntry({ _, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
                ReferenceBLAS.gemm(transA, transB, m, n, k, alpha: alpha!.pointee, a: a, typeA: 0, lda: lda, b: b,
                                   typeB: 0, ldb: ldb, beta: beta!.pointee, c: c, typeC: 0, ldc: ldc)
            } as CUBLAS.Sgemm),
            "cublasGemmEx": standInEntry({ _, transA, transB, m, n, k, alpha, a, typeA, lda, b, typeB, ldb, beta, c, typeC, ldc,
                                    compute, algorithm in
                guard compute == CUBLAS.ComputeType.float32.rawValue || compute == CUBLAS.ComputeType.float32FastTF32.rawValue,
                      algorithm == CUBLAS.defaultAlgorithm else { return ReferenceBLAS.invalidValue }
                return ReferenceBLAS.gemm(transA, transB, m, n, k, alpha: alpha!.load(as: Float.self), a: a, typeA: typeA,
                                          lda: lda, b: b, typeB: typeB, ldb: ldb, beta: beta!.load(as: Float.self), c: c,
                                          typeC: typeC, ldc: ldc)
            } as CUBLAS.GemmEx),
        ]
    }()
}
