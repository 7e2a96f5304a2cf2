import Kusari
import Testing
@testable import KusariCUDA

/// A CPU stand-in for a CUDA library: its C functions, by name.
protocol StandInLibrary: CFunctionLookup {
    /// The functions, as `@convention(c)` pointers (see ``standInEntry(_:)``).
    static var functions: [String: UnsafeMutableRawPointer] { get }
}

extension StandInLibrary {
    func address(of name: String) throws -> UnsafeMutableRawPointer {
        guard let function = Self.functions[name] else {
            throw CUDAError.missingSymbol(library: path, symbol: name)
        }
        return function
    }
}

/// The `@convention(c)` function `function` as an entry of a ``StandInLibrary`` table.
func standInEntry<F>(_ function: F) -> UnsafeMutableRawPointer {
    unsafeBitCast(function, to: UnsafeMutableRawPointer.self)
}

/// An element type the stand-ins read and write: float32, float16 or bfloat16 (rounded to
/// nearest even when written).
enum StandInElement {
    case float32, float16, bfloat16

    /// The element type of a `cudaDataType` (cuBLAS).
    init(cublas dataType: Int32) {
        self = dataType == CUBLAS.DataType.float16.rawValue ? .float16
            : dataType == CUBLAS.DataType.bfloat16.rawValue ? .bfloat16 : .float32
    }

    /// The element type of a `cudnnDataType_t`.
    init(cudnn dataType: Int32) {
        self = dataType == CUDNN.DataType.float16.rawValue ? .float16
            : dataType == CUDNN.DataType.bfloat16.rawValue ? .bfloat16 : .float32
    }

    /// Element `index` of the array at `address`.
    func load(_ address: CUdeviceptr, _ index: Int) -> Float {
        let pointer = UnsafeRawPointer(bitPattern: UInt(address))!
        switch self {
        case .float16: return Float(Float16(bitPattern: pointer.load(fromByteOffset: 2 * index, as: UInt16.self)))
        case .bfloat16: return Float(bitPattern: UInt32(pointer.load(fromByteOffset: 2 * index, as: UInt16.self)) << 16)
        case .float32: return pointer.load(fromByteOffset: 4 * index, as: Float.self)
        }
    }

    /// Writes `value` to element `index` of the array at `address`.
    func store(_ value: Float, _ address: CUdeviceptr, _ index: Int) {
        let pointer = UnsafeMutableRawPointer(bitPattern: UInt(address))!
        switch self {
        case .float16:
            pointer.storeBytes(of: Float16(value).bitPattern, toByteOffset: 2 * index, as: UInt16.self)
        case .bfloat16:
            let bits = value.bitPattern
            let rounded = value.isNaN ? 0x7fc0 : UInt16((bits + 0x7fff + ((bits >> 16) & 1)) >> 16)
            pointer.storeBytes(of: rounded, toByteOffset: 2 * index, as: UInt16.self)
        case .float32:
            pointer.storeBytes(of: value, toByteOffset: 4 * index, as: Float.self)
        }
    }
}

/// The device ordinals the suites register their stand-in GPUs as: each its own, above the
/// ordinals other suites register emulated devices as or use as unserved ones.
enum StandInOrdinal {
    static let kernelLaunches = 120, matrixProducts = 121, convolutions = 122, batchNorm = 123, localResponseNorm = 124
    static let emulatedKernels = 125, hostWaits = 126, emulatedHostWaits = 127
}

/// A ``CUDABackend`` on the CPU stand-ins: the ``RecordingDriver`` (host memory, kernels
/// recorded, not run) and the ``ReferenceBLAS`` (GEMMs computed on the CPU), with NVRTC compiling
/// the real kernels to PTX. `nil`, after the skip message, without NVRTC.
func standInGPU(ordinal: Int, _ test: String) throws -> CUDABackend? {
    guard let nvrtc = nvrtcOrSkip(test) else { return nil }
    let context = try CUDAContext(ordinal: ordinal, driver: CUDADriver(library: RecordingDriver()))
    let backend = CUDABackend(context: context,
                              kernels: try KernelLibrary(nvrtc: nvrtc, target: .ptx(90), cacheDirectory: nil),
                              cublas: { try CUBLAS(library: ReferenceBLAS()) },
                              cudnn: { try CUDNN(library: ReferenceDNN()) })
    try #require(DeviceBackends.backend(for: backend.device) == nil, "\(backend.device) is taken by another suite")
    DeviceBackends.register(backend)
    return backend
}

/// A ``standInGPU(ordinal:_:)`` whose stream runs the kernels with the shared
/// ``KernelEmulator``: a GPU-less CUDA backend that computes. `nil`, after the skip message,
/// without NVRTC or a C++ compiler.
func emulatedGPU(ordinal: Int, _ test: String) throws -> CUDABackend? {
    guard let emulator = try KernelEmulator.shared.get(), let backend = try standInGPU(ordinal: ordinal, test) else {
        return nil
    }
    RecordingDriver.emulateKernels(on: backend.context.stream, with: emulator)
    return backend
}
