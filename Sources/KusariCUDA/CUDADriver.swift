import Foundation

/// Status code of a CUDA driver API call (`CUresult`; 0 is success).
public typealias CUresult = Int32
/// A device ordinal handle (`CUdevice`).
public typealias CUdevice = Int32
/// A device memory address (`CUdeviceptr`).
public typealias CUdeviceptr = UInt64
/// Opaque driver handles (`CUcontext`, `CUstream`, `CUevent`, `CUmodule`, `CUfunction`).
public typealias CUcontext = OpaquePointer
/// A stream handle; `nil` is the legacy default stream.
public typealias CUstream = OpaquePointer
/// An event handle.
public typealias CUevent = OpaquePointer
/// A loaded module (PTX or cubin).
public typealias CUmodule = OpaquePointer
/// A kernel in a loaded module.
public typealias CUfunction = OpaquePointer

/// The CUDA driver API (`libcuda.so.1`), bound by `dlopen` with the function table below.
///
/// Load it with ``load()``: the library is found and its functions resolved once per process;
/// a missing library or function is a thrown ``CUDAError``. Every call's status is checked
/// with ``check(_:_:)``, which names the call and the driver's error name and description.
public final class CUDADriver: @unchecked Sendable {
    typealias Init = @convention(c) (UInt32) -> CUresult
    typealias GetInt = @convention(c) (UnsafeMutablePointer<Int32>?) -> CUresult
    typealias DeviceGet = @convention(c) (UnsafeMutablePointer<CUdevice>?, Int32) -> CUresult
    typealias DeviceGetName = @convention(c) (UnsafeMutablePointer<CChar>?, Int32, CUdevice) -> CUresult
    typealias DeviceTotalMem = @convention(c) (UnsafeMutablePointer<Int>?, CUdevice) -> CUresult
    typealias DeviceGetAttribute = @convention(c) (UnsafeMutablePointer<Int32>?, Int32, CUdevice) -> CUresult
    typealias PrimaryCtxRetain = @convention(c) (UnsafeMutablePointer<CUcontext?>?, CUdevice) -> CUresult
    typealias CtxSetCurrent = @convention(c) (CUcontext?) -> CUresult
    typealias MemAlloc = @convention(c) (UnsafeMutablePointer<CUdeviceptr>?, Int) -> CUresult
    typealias MemFree = @convention(c) (CUdeviceptr) -> CUresult
    typealias MemAllocHost = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int) -> CUresult
    typealias MemFreeHost = @convention(c) (UnsafeMutableRawPointer?) -> CUresult
    typealias MemcpyHtoDAsync = @convention(c) (CUdeviceptr, UnsafeRawPointer?, Int, CUstream?) -> CUresult
    typealias MemcpyDtoHAsync = @convention(c) (UnsafeMutableRawPointer?, CUdeviceptr, Int, CUstream?) -> CUresult
    typealias MemcpyDtoDAsync = @convention(c) (CUdeviceptr, CUdeviceptr, Int, CUstream?) -> CUresult
    typealias MemsetD32Async = @convention(c) (CUdeviceptr, UInt32, Int, CUstream?) -> CUresult
    typealias MemGetInfo = @convention(c) (UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int>?) -> CUresult
    typealias StreamCreate = @convention(c) (UnsafeMutablePointer<CUstream?>?, UInt32) -> CUresult
    typealias StreamOp = @convention(c) (CUstream?) -> CUresult
    typealias EventCreate = @convention(c) (UnsafeMutablePointer<CUevent?>?, UInt32) -> CUresult
    typealias EventRecord = @convention(c) (CUevent?, CUstream?) -> CUresult
    typealias EventOp = @convention(c) (CUevent?) -> CUresult
    typealias ModuleLoadData = @convention(c) (UnsafeMutablePointer<CUmodule?>?, UnsafeRawPointer?) -> CUresult
    typealias ModuleGetFunction = @convention(c) (UnsafeMutablePointer<CUfunction?>?, CUmodule?,
                                                  UnsafePointer<CChar>?) -> CUresult
    typealias LaunchKernel = @convention(c) (CUfunction?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                                             CUstream?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                             UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> CUresult
    typealias GetErrorText = @convention(c) (CUresult, UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> CUresult
    typealias FuncGetParamInfo = @convention(c) (CUfunction?, Int, UnsafeMutablePointer<Int>?,
                                                 UnsafeMutablePointer<Int>?) -> CUresult

    /// `CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT`.
    static let multiprocessorCountAttribute: Int32 = 16
    /// `CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR`.
    static let computeCapabilityMajorAttribute: Int32 = 75
    /// `CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR`.
    static let computeCapabilityMinorAttribute: Int32 = 76
    /// `CUDA_ERROR_OUT_OF_MEMORY`.
    static let outOfMemory: CUresult = 2

    /// The loaded `libcuda`.
    public let library: any CFunctionLookup

    let cuInit: Init
    let cuDriverGetVersion: GetInt
    let cuDeviceGetCount: GetInt
    let cuDeviceGet: DeviceGet
    let cuDeviceGetName: DeviceGetName
    let cuDeviceTotalMem: DeviceTotalMem
    let cuDeviceGetAttribute: DeviceGetAttribute
    let cuDevicePrimaryCtxRetain: PrimaryCtxRetain
    let cuCtxSetCurrent: CtxSetCurrent
    let cuMemAlloc: MemAlloc
    let cuMemFree: MemFree
    let cuMemAllocHost: MemAllocHost
    let cuMemFreeHost: MemFreeHost
    let cuMemcpyHtoDAsync: MemcpyHtoDAsync
    let cuMemcpyDtoHAsync: MemcpyDtoHAsync
    let cuMemcpyDtoDAsync: MemcpyDtoDAsync
    let cuMemsetD32Async: MemsetD32Async
    let cuMemGetInfo: MemGetInfo
    let cuStreamCreate: StreamCreate
    let cuStreamSynchronize: StreamOp
    let cuStreamDestroy: StreamOp
    let cuEventCreate: EventCreate
    let cuEventRecord: EventRecord
    let cuEventQuery: EventOp
    let cuEventDestroy: EventOp
    let cuModuleLoadData: ModuleLoadData
    let cuModuleGetFunction: ModuleGetFunction
    let cuLaunchKernel: LaunchKernel
    let cuGetErrorName: GetErrorText
    let cuGetErrorString: GetErrorText
    /// CUDA 12.4 and newer; `nil` with an older driver.
    let cuFuncGetParamInfo: FuncGetParamInfo?

    /// Resolves the function table from an opened `libcuda` (or a stand-in).
    init(library: any CFunctionLookup) throws {
        self.library = library
        cuInit = try library.function("cuInit")
        cuDriverGetVersion = try library.function("cuDriverGetVersion")
        cuDeviceGetCount = try library.function("cuDeviceGetCount")
        cuDeviceGet = try library.function("cuDeviceGet")
        cuDeviceGetName = try library.function("cuDeviceGetName")
        cuDeviceTotalMem = try library.function("cuDeviceTotalMem_v2")
        cuDeviceGetAttribute = try library.function("cuDeviceGetAttribute")
        cuDevicePrimaryCtxRetain = try library.function("cuDevicePrimaryCtxRetain")
        cuCtxSetCurrent = try library.function("cuCtxSetCurrent")
        cuMemAlloc = try library.function("cuMemAlloc_v2")
        cuMemFree = try library.function("cuMemFree_v2")
        cuMemAllocHost = try library.function("cuMemAllocHost_v2")
        cuMemFreeHost = try library.function("cuMemFreeHost")
        cuMemcpyHtoDAsync = try library.function("cuMemcpyHtoDAsync_v2")
        cuMemcpyDtoHAsync = try library.function("cuMemcpyDtoHAsync_v2")
        cuMemcpyDtoDAsync = try library.function("cuMemcpyDtoDAsync_v2")
        cuMemsetD32Async = try library.function("cuMemsetD32Async")
        cuMemGetInfo = try library.function("cuMemGetInfo_v2")
        cuStreamCreate = try library.function("cuStreamCreate")
        cuStreamSynchronize = try library.function("cuStreamSynchronize")
        cuStreamDestroy = try library.function("cuStreamDestroy_v2")
        cuEventCreate = try library.function("cuEventCreate")
        cuEventRecord = try library.function("cuEventRecord")
        cuEventQuery = try library.function("cuEventQuery")
        cuEventDestroy = try library.function("cuEventDestroy_v2")
        cuModuleLoadData = try library.function("cuModuleLoadData")
        cuModuleGetFunction = try library.function("cuModuleGetFunction")
        cuLaunchKernel = try library.function("cuLaunchKernel")
        cuGetErrorName = try library.function("cuGetErrorName")
        cuGetErrorString = try library.function("cuGetErrorString")
        cuFuncGetParamInfo = try? library.function("cuFuncGetParamInfo")
    }

    private static let loaded: Result<CUDADriver, Error> = Result {
        let probe = LibraryLocator.probe(.driver)
        guard let library = probe.loaded else { throw CUDAError.libraryNotFound(.driver, detail: probe.summary) }
        return try CUDADriver(library: library)
    }

    /// The process's driver binding, loaded on first use.
    public static func load() throws -> CUDADriver { try loaded.get() }

    private let initLock = NSLock()
    private var initStatus: CUresult?

    /// Calls `cuInit(0)` once; later calls rethrow the first outcome (for example
    /// `CUDA_ERROR_NO_DEVICE` on a machine without a GPU).
    public func initialize() throws {
        initLock.lock()
        let status: CUresult
        if let known = initStatus {
            status = known
        } else {
            status = cuInit(0)
            initStatus = status
        }
        initLock.unlock()
        try check(status, "cuInit")
    }

    /// The driver's name for a status, such as `CUDA_ERROR_OUT_OF_MEMORY`, with its
    /// description when the driver has one.
    public func errorName(_ status: CUresult) -> String {
        var name: UnsafePointer<CChar>?
        var text: UnsafePointer<CChar>?
        guard cuGetErrorName(status, &name) == 0, let name else { return "CUDA_ERROR_UNKNOWN_STATUS_\(status)" }
        let label = String(cString: name)
        guard cuGetErrorString(status, &text) == 0, let text else { return label }
        return "\(label): \(String(cString: text))"
    }

    /// Throws ``CUDAError/call(library:function:status:name:)`` unless `status` is success.
    @inline(__always)
    public func check(_ status: CUresult, _ function: @autoclosure () -> String) throws {
        if status != 0 {
            throw CUDAError.call(library: .driver, function: function(), status: status, name: errorName(status))
        }
    }

    /// The driver's CUDA version, such as `(12, 4)`; works without a GPU.
    public func version() throws -> (major: Int, minor: Int) {
        var version: Int32 = 0
        try check(cuDriverGetVersion(&version), "cuDriverGetVersion")
        return (Int(version) / 1000, Int(version) % 1000 / 10)
    }

    /// Every visible GPU: name, memory and compute capability (initialises the driver).
    public func devices() throws -> [CUDADeviceInfo] {
        try initialize()
        var count: Int32 = 0
        try check(cuDeviceGetCount(&count), "cuDeviceGetCount")
        return try (0..<Int(count)).map { try deviceInfo($0) }
    }

    /// The parameter sizes of a loaded kernel from `cuFuncGetParamInfo` (which answers
    /// `CUDA_ERROR_INVALID_VALUE` past the last one), or `nil` when the driver predates it or
    /// answers nothing (every project kernel has parameters, so no answer means "unknown", and
    /// launches go unchecked rather than all refused).
    func parameterSizes(of function: CUfunction) -> [KernelParameter]? {
        guard let cuFuncGetParamInfo else { return nil }
        var parameters: [KernelParameter] = []
        var offset = 0, size = 0
        while parameters.count < Self.parameterLimit, cuFuncGetParamInfo(function, parameters.count, &offset, &size) == 0 {
            parameters.append(KernelParameter(.unknown, size: size))
        }
        return parameters.isEmpty ? nil : parameters
    }

    /// Where ``parameterSizes(of:)`` stops asking, whatever the driver answers (far more
    /// parameters than the project's kernels take).
    private static let parameterLimit = 256

    /// The description of GPU `ordinal`.
    public func deviceInfo(_ ordinal: Int) throws -> CUDADeviceInfo {
        let device = try self.device(ordinal)
        var name = [CChar](repeating: 0, count: 256)
        try check(cuDeviceGetName(&name, Int32(name.count), device), "cuDeviceGetName")
        var memory = 0
        try check(cuDeviceTotalMem(&memory, device), "cuDeviceTotalMem_v2")
        return CUDADeviceInfo(
            ordinal: ordinal, name: String(cString: name), totalMemory: memory,
            computeCapability: (try attribute(Self.computeCapabilityMajorAttribute, device),
                                try attribute(Self.computeCapabilityMinorAttribute, device)),
            multiprocessors: try attribute(Self.multiprocessorCountAttribute, device))
    }

    /// The `CUdevice` of ordinal `ordinal`, after checking that it exists.
    func device(_ ordinal: Int) throws -> CUdevice {
        try initialize()
        var count: Int32 = 0
        try check(cuDeviceGetCount(&count), "cuDeviceGetCount")
        guard ordinal >= 0, ordinal < Int(count) else {
            throw CUDAError.noDevice("cuda:\(ordinal) requested, \(count) device(s) present")
        }
        var device: CUdevice = 0
        try check(cuDeviceGet(&device, Int32(ordinal)), "cuDeviceGet")
        return device
    }

    private func attribute(_ attribute: Int32, _ device: CUdevice) throws -> Int {
        var value: Int32 = 0
        try check(cuDeviceGetAttribute(&value, attribute, device), "cuDeviceGetAttribute(\(attribute))")
        return Int(value)
    }
}

/// What the driver reports about one GPU.
public struct CUDADeviceInfo: Sendable {
    /// The device ordinal (`cuda:N`).
    public let ordinal: Int
    /// The marketing name, such as `NVIDIA H100 80GB HBM3`.
    public let name: String
    /// Device memory in bytes.
    public let totalMemory: Int
    /// Compute capability, such as `(9, 0)`.
    public let computeCapability: (major: Int, minor: Int)
    /// Number of streaming multiprocessors.
    public let multiprocessors: Int

    /// The NVRTC architecture number for this device, such as `90` for `sm_90`.
    public var architecture: Int { computeCapability.major * 10 + computeCapability.minor }
}
