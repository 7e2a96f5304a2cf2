import Foundation

/// What this machine offers for GPU work: each CUDA library's version and path (or why it is
/// not usable), the driver's CUDA version and the GPUs. `kusari info` prints ``lines``.
public struct CUDAEnvironment: Sendable {
    /// One library's state.
    public struct LibraryStatus: Sendable {
        /// The library.
        public let library: CUDALibrary
        /// Its version (`12.9`, `9.10.2`) and path when it loaded.
        public let version: String?
        /// Where it was loaded from.
        public let path: String?
        /// Why it is not usable, when it is not.
        public let problem: String?
    }

    /// Every library Kusari uses, in ``CUDALibrary`` order.
    public let libraries: [LibraryStatus]
    /// The GPUs the driver sees (empty without a driver or device).
    public let devices: [CUDADeviceInfo]
    /// Why no GPU is listed, when none is.
    public let deviceProblem: String?

    /// Loads every library (once per process) and asks the driver for its devices.
    public static func probe() -> CUDAEnvironment {
        let libraries = CUDALibrary.allCases.map { library in
            do {
                let (version, path) = try versionAndPath(of: library)
                return LibraryStatus(library: library, version: version, path: path, problem: nil)
            } catch CUDAError.libraryNotFound(_, let detail) {
                return LibraryStatus(library: library, version: nil, path: nil, problem: detail)
            } catch {
                return LibraryStatus(library: library, version: nil, path: nil, problem: "\(error)")
            }
        }
        var devices: [CUDADeviceInfo] = []
        var deviceProblem: String?
        do {
            devices = try CUDADriver.load().devices()
            if devices.isEmpty { deviceProblem = "the driver reports no devices" }
        } catch CUDAError.libraryNotFound {
            deviceProblem = "no CUDA driver: libcuda.so.1 not found"
        } catch {
            deviceProblem = "\(error)"
        }
        return CUDAEnvironment(libraries: libraries, devices: devices, deviceProblem: deviceProblem)
    }

    private static func versionAndPath(of library: CUDALibrary) throws -> (String, String) {
        switch library {
        case .driver:
            let driver = try CUDADriver.load()
            let version = try driver.version()
            return ("CUDA \(version.major).\(version.minor)", driver.library.path)
        case .nvrtc:
            let nvrtc = try NVRTC.load()
            let version = try nvrtc.version()
            return ("\(version.major).\(version.minor)", nvrtc.library.path)
        case .cublas:
            let cublas = try CUBLAS.load()
            let version = try cublas.version()
            return ("\(version.major).\(version.minor).\(version.patch)", cublas.library.path)
        case .cublasLt:
            let cublasLt = try CUBLASLt.load()
            let code = cublasLt.version()
            return ("\(code / 10000).\(code % 10000 / 100).\(code % 100)", cublasLt.library.path)
        case .cudnn:
            let cudnn = try CUDNN.load()
            let version = cudnn.version()
            return ("\(version.major).\(version.minor).\(version.patch)", cudnn.library.path)
        case .nccl:
            let nccl = try NCCL.load()
            let version = try nccl.version()
            return ("\(version.major).\(version.minor).\(version.patch)", nccl.library.path)
        }
    }

    /// Whether a GPU can be used: the driver loaded and lists at least one device.
    public var hasGPU: Bool { !devices.isEmpty }

    /// The report, one line per GPU and per library.
    public var lines: [String] {
        var lines: [String] = []
        if devices.isEmpty {
            lines.append("cuda: no GPU (\(deviceProblem ?? "none found")); everything runs on the CPU")
        }
        for device in devices {
            lines.append("cuda:\(device.ordinal): \(device.name), \(formatBytes(device.totalMemory)), "
                         + "compute capability \(device.computeCapability.major).\(device.computeCapability.minor), "
                         + "\(device.multiprocessors) SMs")
        }
        for status in libraries {
            if let version = status.version, let path = status.path {
                lines.append("  \(status.library): \(version) (\(path))")
            } else {
                lines.append("  \(status.library): \(status.problem ?? "not found")")
            }
        }
        return lines
    }
}
