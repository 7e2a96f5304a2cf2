import Kusari
import KusariTestSupport
import Testing
@testable import KusariCUDA

/// The CUDA backend's matrix products through the ``ReferenceBLAS`` stand-in, against the CPU's
/// matmul, on a machine without a GPU: the row-major operands handed to column-major cuBLAS
/// (which operand goes first, which is transposed, the leading dimensions) must give the CPU's
/// values for every operand layout the backend accepts, with `beta` 0 and 1, in float32 and in
/// the 16-bit types `cublasGemmEx` takes. Values within 1e-5 relative (the sums run in another
/// order). Needs NVRTC for the backend: skipped with a message without it.
@Suite(.serialized)
struct CUBLASCallTests {
    /// How an operand of logical shape `[rows, columns]` is laid out on the device.
    enum Layout: CaseIterable, CustomStringConvertible {
        /// Contiguous row-major.
        case rowMajor
        /// A transposed view of a contiguous `[columns, rows]` matrix.
        case transposed
        /// The first `columns` columns of a wider row-major matrix (row stride beyond `columns`).
        case paddedRows

        var description: String {
            switch self {
            case .rowMajor: return "row-major"
            case .transposed: return "transposed"
            case .paddedRows: return "padded rows"
            }
        }

        /// `values` (`[rows, columns]`, on the CPU) laid out this way on `device`.
        func place(_ values: Tensor, on device: Device) throws -> Tensor {
            let (rows, columns) = (values.shape[0], values.shape[1])
            switch self {
            case .rowMajor:
                return try values.to(device: device)
            case .transposed:
                return try values.transpose().contiguous().to(device: device).transpose()
            case .paddedRows:
                let wide = Tensor.concat([values, Tensor.full([rows, 3], 99).to(values.dtype)], axis: 1)
                return try wide.to(device: device).slice(axis: 1, start: 0, end: columns)
            }
        }
    }

    @Test func productsMatchTheCPUForEveryLayout() throws {
        guard let backend = try standInGPU(ordinal: StandInOrdinal.matrixProducts, "the cuBLAS call check") else { return }
        for dtype in [DType.float32, .float16, .bfloat16] {
            try checkProducts(dtype, on: backend)
        }
    }

    private func checkProducts(_ dtype: DType, on backend: CUDABackend) throws {
        for (m, k, n) in [(5, 7, 3), (1, 9, 4), (6, 1, 5), (17, 33, 9)] {
            // Values a 16-bit type holds exactly, so both sides multiply the same numbers.
            let a = parityTensor([m, k], seed: UInt64(m * 100 + k), low: -2, high: 2).to(dtype).to(DType.float32)
            let b = parityTensor([k, n], seed: UInt64(k * 100 + n), low: -2, high: 2).to(dtype).to(DType.float32)
            let start = parityTensor([m, n], seed: 7, low: -1, high: 1)
            for leftLayout in Layout.allCases {
                for rightLayout in Layout.allCases {
                    for beta: Float in [0, 1] {
                        let left = try leftLayout.place(a.to(dtype), on: backend.device)
                        let right = try rightLayout.place(b.to(dtype), on: backend.device)
                        let output = try start.to(device: backend.device)
                        try backend.matmul(left, right, into: output, beta: beta)
                        let expected = a.matmul(b) + start * beta
                        let got = try output.to(device: Device.cpu).scalars, want = expected.scalars
                        let worst = zip(got, want).map { Swift.abs($0 - $1) / Swift.max(1, Swift.abs($1)) }.max() ?? 0
                        let product = "\(dtype) [\(m), \(k)] \(leftLayout) @ [\(k), \(n)] \(rightLayout), beta \(beta)"
                        #expect(worst <= 1e-5, "\(product): off by \(worst)")
                    }
                }
            }
        }
    }
}
