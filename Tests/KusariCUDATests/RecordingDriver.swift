import Foundation
import Synchronization
@testable import KusariCUDA

/// A stand-in for `libcuda` that runs on the CPU: device memory is zeroed host memory, copies are
/// `memcpy`, streams and events are always complete, and kernels are recorded by name. Kernels
/// queued on a stream given a ``KernelEmulator`` (``emulateKernels(on:with:)``) run on the CPU;
/// elsewhere they are not run, except the one that carries small uploads (``storeBytes(_:)``).
///
/// With it, a ``CUDABackend`` goes through all its host-side work (allocation, uploads, NVRTC,
/// module loading and every launch with its argument check) on a machine without a GPU. Kernel
/// results are meaningless (nothing computes them); what a test learns is which kernels were
/// launched and that every launch's arguments fit the compiled kernel.
final class RecordingDriver: StandInLibrary, @unchecked Sendable {
    /// The number of GPUs it reports.
    static let deviceCount: Int32 = 128

    let path = "recording stand-in for libcuda"

    /// The names of the kernels launched so far, in order.
    static var launches: [String] { state.withLock { $0.launches } }

    /// What went through one stream so far: the calls that make the host wait for the GPU, the
    /// copies, the launches.
    struct StreamTraffic: Equatable {
        var synchronizations = 0
        var copiesToHost = 0
        var copiesToDevice = 0
        var launches = 0
    }

    /// The traffic of `stream` so far.
    static func traffic(on stream: CUstream) -> StreamTraffic {
        state.withLock { $0.traffic[key(stream)] ?? StreamTraffic() }
    }

    private static func key(_ stream: CUstream?) -> UInt { UInt(bitPattern: UnsafeRawPointer(stream)) }

    private static func count(on stream: CUstream?, _ change: (inout StreamTraffic) -> Void) {
        state.withLock { change(&$0.traffic[key(stream), default: StreamTraffic()]) }
    }

    /// What the stand-in remembers between calls (the functions cannot capture anything).
    struct State {
        var modules: [String] = []
        var kernelNames: [String] = []
        var launches: [String] = []
        var streams = 0
        var emulators: [UInt: KernelEmulator] = [:]
        var traffic: [UInt: StreamTraffic] = [:]
    }

    /// Held while an emulated kernel runs: one kernel at a time in the process, as on one
    /// stream. Suites side by side share the emulated GPU, and a kernel's `__shared__` arrays
    /// are the emulator's statics, which two launches at once would overwrite for each other.
    static let emulatedLaunch = Mutex(())

    /// Runs the kernels later queued on `stream` with `emulator`.
    static func emulateKernels(on stream: CUstream, with emulator: KernelEmulator) {
        state.withLock { $0.emulators[key(stream)] = emulator }
    }

    static let state = Mutex(State())

    /// Runs `kusari_store_bytes(destination, low, high, count)`, the one kernel the stand-in
    /// carries out: small host-to-device copies travel in its arguments, and without it every
    /// tensor of up to 16 bytes moved to the stand-in would be garbage.
    private static func storeBytes(_ parameters: UnsafeMutablePointer<UnsafeMutableRawPointer?>) {
        let destination = host(parameters[0]!.load(as: CUdeviceptr.self))
        var words = (parameters[1]!.load(as: UInt64.self), parameters[2]!.load(as: UInt64.self))
        let count = Int(parameters[3]!.load(as: Int32.self))
        withUnsafeBytes(of: &words) { destination.copyMemory(from: $0.baseAddress!, byteCount: count) }
    }

    /// The host memory behind a stand-in device address.
    private static func host(_ address: CUdeviceptr) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: UInt(address))!
    }

    private static func handle(_ index: Int) -> OpaquePointer { OpaquePointer(bitPattern: index + 1)! }
    private static func index(_ handle: OpaquePointer?) -> Int { Int(bitPattern: UnsafeRawPointer(handle)) - 1 }
    /// Any non-null handle, for contexts, streams and events.
    private static let token = OpaquePointer(bitPattern: 0x1000)!

    static let functions: [String: UnsafeMutableRawPointer] = {
        let succeed: CUDADriver.StreamOp = { _ in 0 }
        let succeedOnEvent: CUDADriver.EventOp = { _ in 0 }
        let count: CUDADriver.GetInt = { $0?.pointee = RecordingDriver.deviceCount; return 0 }
        return [
            "cuInit": standInEntry({ _ in 0 } as CUDADriver.Init),
            "cuDriverGetVersion": standInEntry({ $0?.pointee = 12090; return 0 } as CUDADriver.GetInt),
            "cuDeviceGetCount": standInEntry(count),
            "cuDeviceGet": standInEntry({ $0?.pointee = $1; return 0 } as CUDADriver.DeviceGet),
            "cuDeviceGetName": standInEntry({ name, length, _ in
                let text = Array("Kusari recording stand-in".utf8CString.prefix(Int(length)))
                text.withUnsafeBufferPointer { name?.update(from: $0.baseAddress!, count: text.count) }
                return 0
            } as CUDADriver.DeviceGetName),
            "cuDeviceTotalMem_v2": standInEntry({ $0?.pointee = 80 << 30; _ = $1; return 0 } as CUDADriver.DeviceTotalMem),
            "cuDeviceGetAttribute": standInEntry({ value, attribute, _ in
                value?.pointee = switch attribute {
                case CUDADriver.computeCapabilityMajorAttribute: 9
                case CUDADriver.computeCapabilityMinorAttribute: 0
                default: 132
                }
                return 0
            } as CUDADriver.DeviceGetAttribute),
            "cuDevicePrimaryCtxRetain": standInEntry({ $0?.pointee = RecordingDriver.token; _ = $1; return 0 }
                                              as CUDADriver.PrimaryCtxRetain),
            "cuCtxSetCurrent": standInEntry({ _ in 0 } as CUDADriver.CtxSetCurrent),
            "cuMemAlloc_v2": standInEntry({ address, bytes in
                guard let memory = calloc(max(bytes, 1), 1) else { return CUDADriver.outOfMemory }
                address?.pointee = CUdeviceptr(UInt(bitPattern: memory))
                return 0
            } as CUDADriver.MemAlloc),
            "cuMemFree_v2": standInEntry({ free(UnsafeMutableRawPointer(bitPattern: UInt($0))); return 0 } as CUDADriver.MemFree),
            "cuMemAllocHost_v2": standInEntry({ $0?.pointee = calloc(max($1, 1), 1); return 0 } as CUDADriver.MemAllocHost),
            "cuMemFreeHost": standInEntry({ free($0); return 0 } as CUDADriver.MemFreeHost),
            "cuMemcpyHtoDAsync_v2": standInEntry({ destination, source, bytes, stream in
                RecordingDriver.count(on: stream) { $0.copiesToDevice += 1 }
                memcpy(RecordingDriver.host(destination), source!, bytes)
                return 0
            } as CUDADriver.MemcpyHtoDAsync),
            "cuMemcpyDtoHAsync_v2": standInEntry({ destination, source, bytes, stream in
                RecordingDriver.count(on: stream) { $0.copiesToHost += 1 }
                memcpy(destination!, RecordingDriver.host(source), bytes)
                return 0
            } as CUDADriver.MemcpyDtoHAsync),
            "cuMemcpyDtoDAsync_v2": standInEntry({ destination, source, bytes, _ in
                memmove(RecordingDriver.host(destination), RecordingDriver.host(source), bytes)
                return 0
            } as CUDADriver.MemcpyDtoDAsync),
            "cuMemsetD32Async": standInEntry({ destination, pattern, count, _ in
                let words = UnsafeMutablePointer<UInt32>(bitPattern: UInt(destination))
                words?.update(repeating: pattern, count: count)
                return 0
            } as CUDADriver.MemsetD32Async),
            "cuMemGetInfo_v2": standInEntry({ $0?.pointee = 80 << 30; $1?.pointee = 80 << 30; return 0 } as CUDADriver.MemGetInfo),
            "cuStreamCreate": standInEntry({ stream, _ in
                let index = RecordingDriver.state.withLock { $0.streams += 1; return $0.streams }
                stream?.pointee = OpaquePointer(bitPattern: 0x10_0000 + index)
                return 0
            } as CUDADriver.StreamCreate),
            "cuStreamSynchronize": standInEntry({ stream in
                RecordingDriver.count(on: stream) { $0.synchronizations += 1 }
                return 0
            } as CUDADriver.StreamOp),
            "cuStreamDestroy_v2": standInEntry(succeed),
            "cuEventCreate": standInEntry({ $0?.pointee = RecordingDriver.token; _ = $1; return 0 } as CUDADriver.EventCreate),
            "cuEventRecord": standInEntry({ _, _ in 0 } as CUDADriver.EventRecord),
            "cuEventQuery": standInEntry(succeedOnEvent),
            "cuEventDestroy_v2": standInEntry(succeedOnEvent),
            "cuModuleLoadData": standInEntry({ module, image in
                let text = String(cString: image!.assumingMemoryBound(to: CChar.self))
                let index = RecordingDriver.state.withLock { state in
                    state.modules.append(text)
                    return state.modules.count - 1
                }
                module?.pointee = RecordingDriver.handle(index)
                return 0
            } as CUDADriver.ModuleLoadData),
            "cuModuleGetFunction": standInEntry({ function, module, name in
                let kernel = String(cString: name!)
                let index = RecordingDriver.state.withLock { state -> Int? in
                    guard state.modules[RecordingDriver.index(module)].contains(".entry \(kernel)(") else { return nil }
                    state.kernelNames.append(kernel)
                    return state.kernelNames.count - 1
                }
                guard let index else { return 500 }  // CUDA_ERROR_NOT_FOUND
                function?.pointee = RecordingDriver.handle(index)
                return 0
            } as CUDADriver.ModuleGetFunction),
            "cuLaunchKernel": standInEntry({ function, gx, gy, gz, bx, by, bz, _, stream, parameters, _ in
                let (name, emulator) = RecordingDriver.state.withLock { state in
                    let name = state.kernelNames[RecordingDriver.index(function)]
                    state.launches.append(name)
                    state.traffic[RecordingDriver.key(stream), default: StreamTraffic()].launches += 1
                    return (name, state.emulators[RecordingDriver.key(stream)])
                }
                guard let parameters else { return 1 }  // CUDA_ERROR_INVALID_VALUE
                if let launcher = emulator?.launchers[name] {
                    RecordingDriver.emulatedLaunch.withLock { _ in launcher(parameters, gx, gy, gz, bx, by, bz) }
                } else if name == "kusari_store_bytes" {
                    RecordingDriver.storeBytes(parameters)
                }
                return 0
            } as CUDADriver.LaunchKernel),
            "cuFuncGetParamInfo": standInEntry({ function, index, offset, size in
                let parameters = RecordingDriver.state.withLock { state -> [KernelParameter] in
                    let name = state.kernelNames[RecordingDriver.index(function)]
                    let module = state.modules.first { $0.contains(".entry \(name)(") } ?? ""
                    return KernelParameter.signatures(ofPTX: module)[name] ?? []
                }
                guard index < parameters.count else { return 1 }  // CUDA_ERROR_INVALID_VALUE
                offset?.pointee = parameters[..<index].reduce(0) { $0 + $1.size }
                size?.pointee = parameters[index].size
                return 0
            } as CUDADriver.FuncGetParamInfo),
            "cuGetErrorName": standInEntry({ _, text in text?.pointee = RecordingDriver.errorText; return 0 } as CUDADriver.GetErrorText),
            "cuGetErrorString": standInEntry({ _, text in text?.pointee = RecordingDriver.errorText; return 0 } as CUDADriver.GetErrorText),
        ]
    }()

    private static let errorText: UnsafePointer<CChar> = UnsafePointer(strdup("stand-in error")!)
}
