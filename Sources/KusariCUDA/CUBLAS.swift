import Foundation

/// cuBLAS (`libcublas.so.12`/`.13`), bound by `dlopen`: handles, streams, math mode and the
/// GEMM entry points.
public final class CUBLAS: @unchecked Sendable {
    typealias Handle = OpaquePointer
    typealias Status = Int32
    typealias Create = @convention(c) (UnsafeMutablePointer<Handle?>?) -> Status
    typealias Destroy = @convention(c) (Handle?) -> Status
    typealias GetVersion = @convention(c) (Handle?, UnsafeMutablePointer<Int32>?) -> Status
    typealias GetProperty = @convention(c) (Int32, UnsafeMutablePointer<Int32>?) -> Status
    typealias SetStream = @convention(c) (Handle?, CUstream?) -> Status
    typealias SetMathMode = @convention(c) (Handle?, Int32) -> Status
    typealias Sgemm = @convention(c) (Handle?, Int32, Int32, Int32, Int32, Int32,
                                      UnsafePointer<Float>?, CUdeviceptr, Int32, CUdeviceptr, Int32,
                                      UnsafePointer<Float>?, CUdeviceptr, Int32) -> Status
    typealias GemmEx = @convention(c) (Handle?, Int32, Int32, Int32, Int32, Int32,
                                       UnsafeRawPointer?, CUdeviceptr, Int32, Int32, CUdeviceptr, Int32, Int32,
                                       UnsafeRawPointer?, CUdeviceptr, Int32, Int32, Int32, Int32) -> Status

    /// `cublasOperation_t`.
    public enum Operation: Int32, Sendable {
        /// `CUBLAS_OP_N`: use the matrix as stored (column-major).
        case none = 0
        /// `CUBLAS_OP_T`: use its transpose.
        case transpose = 1
    }

    /// `cublasMath_t` values Kusari uses.
    public enum MathMode: Int32, Sendable {
        /// `CUBLAS_DEFAULT_MATH`: full float32 arithmetic (the default: TF32 is opt-in).
        case `default` = 0
        /// `CUBLAS_TF32_TENSOR_OP_MATH`: allow TF32 tensor cores for float32 GEMMs.
        case tf32TensorOp = 3
    }

    /// `cudaDataType` values for ``gemmEx``.
    public enum DataType: Int32, Sendable {
        /// `CUDA_R_32F`.
        case float32 = 0
        /// `CUDA_R_16F`.
        case float16 = 2
        /// `CUDA_R_16BF`.
        case bfloat16 = 14
    }

    /// `cublasComputeType_t` values for ``gemmEx``.
    public enum ComputeType: Int32, Sendable {
        /// `CUBLAS_COMPUTE_32F`: float32 accumulation.
        case float32 = 68
        /// `CUBLAS_COMPUTE_32F_FAST_TF32`: float32 inputs through TF32 tensor cores.
        case float32FastTF32 = 77
    }

    /// `CUBLAS_GEMM_DEFAULT`.
    static let defaultAlgorithm: Int32 = -1

    /// The loaded `libcublas` (or a stand-in).
    public let library: any CFunctionLookup

    let cublasCreate: Create
    let cublasDestroy: Destroy
    let cublasGetVersion: GetVersion
    let cublasGetProperty: GetProperty
    let cublasSetStream: SetStream
    let cublasSetMathMode: SetMathMode
    let cublasSgemm: Sgemm
    let cublasGemmEx: GemmEx

    /// Resolves the function table from an opened `libcublas` (or a stand-in).
    init(library: any CFunctionLookup) throws {
        self.library = library
        cublasCreate = try library.function("cublasCreate_v2")
        cublasDestroy = try library.function("cublasDestroy_v2")
        cublasGetVersion = try library.function("cublasGetVersion_v2")
        cublasGetProperty = try library.function("cublasGetProperty")
        cublasSetStream = try library.function("cublasSetStream_v2")
        cublasSetMathMode = try library.function("cublasSetMathMode")
        cublasSgemm = try library.function("cublasSgemm_v2")
        cublasGemmEx = try library.function("cublasGemmEx")
    }

    private static let loaded: Result<CUBLAS, Error> = Result {
        // cuBLAS loads cuBLASLt by soname; a copy loaded first (RTLD_GLOBAL) is the one it uses.
        _ = LibraryLocator.probe(.cublasLt)
        let probe = LibraryLocator.probe(.cublas)
        guard let library = probe.loaded else { throw CUDAError.libraryNotFound(.cublas, detail: probe.summary) }
        return try CUBLAS(library: library)
    }

    /// The process's cuBLAS binding, loaded on first use.
    public static func load() throws -> CUBLAS { try loaded.get() }

    /// cuBLAS's name for a status and what it means.
    public static func statusName(_ status: Int32) -> String {
        switch status {
        case 0: return "CUBLAS_STATUS_SUCCESS"
        case 1: return "CUBLAS_STATUS_NOT_INITIALIZED: no handle, or no CUDA context when it was created"
        case 3: return "CUBLAS_STATUS_ALLOC_FAILED: cuBLAS could not allocate device memory"
        case 7: return "CUBLAS_STATUS_INVALID_VALUE: an argument is out of range (dimension, leading dimension, type)"
        case 8: return "CUBLAS_STATUS_ARCH_MISMATCH: the GPU lacks a feature the call needs"
        case 11: return "CUBLAS_STATUS_MAPPING_ERROR: access to GPU memory failed"
        case 13: return "CUBLAS_STATUS_EXECUTION_FAILED: the kernel failed to launch or run"
        case 14: return "CUBLAS_STATUS_INTERNAL_ERROR: an internal cuBLAS operation failed"
        case 15: return "CUBLAS_STATUS_NOT_SUPPORTED: this combination of arguments is not supported"
        case 16: return "CUBLAS_STATUS_LICENSE_ERROR"
        default: return "CUBLAS_STATUS_UNKNOWN(\(status))"
        }
    }

    /// Throws ``CUDAError/call(library:function:status:name:)`` unless `status` is success.
    public func check(_ status: Int32, _ function: @autoclosure () -> String) throws {
        if status != 0 {
            throw CUDAError.call(library: .cublas, function: function(), status: status,
                                 name: Self.statusName(status))
        }
    }

    /// The library's version, such as `(12, 9, 1)`; works without a GPU.
    public func version() throws -> (major: Int, minor: Int, patch: Int) {
        var parts: [Int32] = [0, 0, 0]
        for index in 0..<3 {  // MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
            try check(cublasGetProperty(Int32(index), &parts[index]), "cublasGetProperty(\(index))")
        }
        return (Int(parts[0]), Int(parts[1]), Int(parts[2]))
    }
}

/// A cuBLAS handle bound to a context's stream; create it with the context current.
public final class CUBLASHandle {
    /// The binding the handle's calls go through.
    public let cublas: CUBLAS
    let handle: CUBLAS.Handle

    /// Creates a handle whose work goes to `stream`, with TF32 allowed only when `allowTF32`.
    public init(cublas: CUBLAS, stream: CUstream?, allowTF32: Bool = false) throws {
        self.cublas = cublas
        var handle: CUBLAS.Handle?
        try cublas.check(cublas.cublasCreate(&handle), "cublasCreate_v2")
        guard let handle else { throw CUDAError.call(library: .cublas, function: "cublasCreate_v2", status: 1,
                                                     name: CUBLAS.statusName(1)) }
        self.handle = handle
        try cublas.check(cublas.cublasSetStream(handle, stream), "cublasSetStream_v2")
        try setMathMode(allowTF32 ? .tf32TensorOp : .default)
    }

    deinit { _ = cublas.cublasDestroy(handle) }

    /// The version reported through this handle (`major * 10000 + minor * 100 + patch` style).
    public func version() throws -> Int {
        var version: Int32 = 0
        try cublas.check(cublas.cublasGetVersion(handle, &version), "cublasGetVersion_v2")
        return Int(version)
    }

    /// Sets the math mode (TF32 tensor cores or full float32).
    public func setMathMode(_ mode: CUBLAS.MathMode) throws {
        try cublas.check(cublas.cublasSetMathMode(handle, mode.rawValue), "cublasSetMathMode")
    }

    /// `C = alpha * op(A) * op(B) + beta * C` on column-major float32 matrices (`op(A)` is
    /// `m × k`, `op(B)` is `k × n`, `C` is `m × n`).
    public func sgemm(_ transA: CUBLAS.Operation, _ transB: CUBLAS.Operation, m: Int, n: Int, k: Int,
                      alpha: Float, a: CUdeviceptr, lda: Int, b: CUdeviceptr, ldb: Int,
                      beta: Float, c: CUdeviceptr, ldc: Int) throws {
        var alpha = alpha, beta = beta
        try cublas.check(cublas.cublasSgemm(handle, transA.rawValue, transB.rawValue, Int32(m), Int32(n), Int32(k),
                                            &alpha, a, Int32(lda), b, Int32(ldb), &beta, c, Int32(ldc)),
                         "cublasSgemm_v2(m: \(m), n: \(n), k: \(k))")
    }

    /// Mixed-precision GEMM: `A`, `B` and `C` of the given types, float32 `alpha`/`beta`,
    /// accumulating as `compute` says.
    public func gemmEx(_ transA: CUBLAS.Operation, _ transB: CUBLAS.Operation, m: Int, n: Int, k: Int,
                       alpha: Float, a: CUdeviceptr, _ typeA: CUBLAS.DataType, lda: Int,
                       b: CUdeviceptr, _ typeB: CUBLAS.DataType, ldb: Int, beta: Float,
                       c: CUdeviceptr, _ typeC: CUBLAS.DataType, ldc: Int, compute: CUBLAS.ComputeType) throws {
        var alpha = alpha, beta = beta
        try cublas.check(cublas.cublasGemmEx(
            handle, transA.rawValue, transB.rawValue, Int32(m), Int32(n), Int32(k), &alpha, a, typeA.rawValue,
            Int32(lda), b, typeB.rawValue, Int32(ldb), &beta, c, typeC.rawValue, Int32(ldc), compute.rawValue,
            CUBLAS.defaultAlgorithm), "cublasGemmEx(m: \(m), n: \(n), k: \(k))")
    }
}

/// cuBLASLt (`libcublasLt`): only its version for now; cuBLAS uses it internally.
public final class CUBLASLt: @unchecked Sendable {
    typealias GetVersion = @convention(c) () -> Int

    /// The loaded `libcublasLt`.
    public let library: DynamicLibrary
    let cublasLtGetVersion: GetVersion

    /// Resolves the function table from an opened `libcublasLt`.
    init(library: DynamicLibrary) throws {
        self.library = library
        cublasLtGetVersion = try library.function("cublasLtGetVersion")
    }

    private static let loaded: Result<CUBLASLt, Error> = Result {
        let probe = LibraryLocator.probe(.cublasLt)
        guard let library = probe.loaded else { throw CUDAError.libraryNotFound(.cublasLt, detail: probe.summary) }
        return try CUBLASLt(library: library)
    }

    /// The process's cuBLASLt binding, loaded on first use.
    public static func load() throws -> CUBLASLt { try loaded.get() }

    /// The version number, such as `120901` for 12.9.1.
    public func version() -> Int { cublasLtGetVersion() }
}
