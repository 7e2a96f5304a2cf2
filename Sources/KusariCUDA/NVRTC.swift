import Foundation

/// NVRTC, the CUDA runtime compiler (`libnvrtc.so.12`/`.13`), bound by `dlopen`.
///
/// It needs no GPU: kernels can be compiled (and their sources checked) on any machine where
/// the library is present, for example from the `nvidia-cuda-nvrtc-cu12` wheel.
public final class NVRTC: @unchecked Sendable {
    typealias Program = OpaquePointer
    typealias Status = Int32
    typealias Version = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Status
    typealias CreateProgram = @convention(c) (UnsafeMutablePointer<Program?>?, UnsafePointer<CChar>?,
                                              UnsafePointer<CChar>?, Int32,
                                              UnsafePointer<UnsafePointer<CChar>?>?,
                                              UnsafePointer<UnsafePointer<CChar>?>?) -> Status
    typealias CompileProgram = @convention(c) (Program?, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> Status
    typealias GetSize = @convention(c) (Program?, UnsafeMutablePointer<Int>?) -> Status
    typealias GetBytes = @convention(c) (Program?, UnsafeMutablePointer<CChar>?) -> Status
    typealias DestroyProgram = @convention(c) (UnsafeMutablePointer<Program?>?) -> Status
    typealias GetErrorString = @convention(c) (Status) -> UnsafePointer<CChar>?

    /// The loaded `libnvrtc`.
    public let library: DynamicLibrary

    let nvrtcVersion: Version
    let nvrtcCreateProgram: CreateProgram
    let nvrtcCompileProgram: CompileProgram
    let nvrtcGetProgramLogSize: GetSize
    let nvrtcGetProgramLog: GetBytes
    let nvrtcGetPTXSize: GetSize
    let nvrtcGetPTX: GetBytes
    let nvrtcGetCUBINSize: GetSize
    let nvrtcGetCUBIN: GetBytes
    let nvrtcDestroyProgram: DestroyProgram
    let nvrtcGetErrorString: GetErrorString

    /// Resolves the function table from an opened `libnvrtc`.
    init(library: DynamicLibrary) throws {
        self.library = library
        nvrtcVersion = try library.function("nvrtcVersion")
        nvrtcCreateProgram = try library.function("nvrtcCreateProgram")
        nvrtcCompileProgram = try library.function("nvrtcCompileProgram")
        nvrtcGetProgramLogSize = try library.function("nvrtcGetProgramLogSize")
        nvrtcGetProgramLog = try library.function("nvrtcGetProgramLog")
        nvrtcGetPTXSize = try library.function("nvrtcGetPTXSize")
        nvrtcGetPTX = try library.function("nvrtcGetPTX")
        nvrtcGetCUBINSize = try library.function("nvrtcGetCUBINSize")
        nvrtcGetCUBIN = try library.function("nvrtcGetCUBIN")
        nvrtcDestroyProgram = try library.function("nvrtcDestroyProgram")
        nvrtcGetErrorString = try library.function("nvrtcGetErrorString")
    }

    private static let loaded: Result<NVRTC, Error> = Result {
        let probe = LibraryLocator.probe(.nvrtc)
        guard let library = probe.loaded else { throw CUDAError.libraryNotFound(.nvrtc, detail: probe.summary) }
        return try NVRTC(library: library)
    }

    /// The process's NVRTC binding, loaded on first use.
    public static func load() throws -> NVRTC { try loaded.get() }

    /// NVRTC's name for a status, such as `NVRTC_ERROR_COMPILATION`.
    public func errorString(_ status: Int32) -> String {
        nvrtcGetErrorString(status).map { String(cString: $0) } ?? "NVRTC_ERROR_UNKNOWN_STATUS_\(status)"
    }

    /// Throws ``CUDAError/call(library:function:status:name:)`` unless `status` is success.
    public func check(_ status: Int32, _ function: @autoclosure () -> String) throws {
        if status != 0 {
            throw CUDAError.call(library: .nvrtc, function: function(), status: status, name: errorString(status))
        }
    }

    /// The compiler's version, such as `(12, 9)`.
    public func version() throws -> (major: Int, minor: Int) {
        var major: Int32 = 0, minor: Int32 = 0
        try check(nvrtcVersion(&major, &minor), "nvrtcVersion")
        return (Int(major), Int(minor))
    }

    /// Compiles a CUDA C++ `source` (no `#include`s) with `options` and returns PTX text (for a
    /// `compute_XX` architecture) or a cubin (for `sm_XX`).
    ///
    /// A source that does not compile throws ``CUDAError/compilation(program:options:status:log:)``
    /// with NVRTC's log.
    public func compile(source: String, name: String, options: [String], output: KernelBinary.Format) throws -> Data {
        var program: Program?
        try check(nvrtcCreateProgram(&program, source, name, 0, nil, nil), "nvrtcCreateProgram(\(name))")
        defer { _ = nvrtcDestroyProgram(&program) }
        let status = withCStrings(options) { nvrtcCompileProgram(program, Int32(options.count), $0) }
        if status != 0 {
            throw CUDAError.compilation(program: name, options: options, status: errorString(status),
                                       log: (try? log(program)) ?? "")
        }
        let (sizeOf, bytesOf, label) = output == .ptx
            ? (nvrtcGetPTXSize, nvrtcGetPTX, "nvrtcGetPTX") : (nvrtcGetCUBINSize, nvrtcGetCUBIN, "nvrtcGetCUBIN")
        var size = 0
        try check(sizeOf(program, &size), label + "Size(\(name))")
        var bytes = [CChar](repeating: 0, count: size)
        try check(bytesOf(program, &bytes), label + "(\(name))")
        return bytes.withUnsafeBytes { Data($0) }
    }

    private func log(_ program: Program?) throws -> String {
        var size = 0
        try check(nvrtcGetProgramLogSize(program, &size), "nvrtcGetProgramLogSize")
        var text = [CChar](repeating: 0, count: max(size, 1))
        try check(nvrtcGetProgramLog(program, &text), "nvrtcGetProgramLog")
        return String(cString: text)
    }
}

/// Calls `body` with a C array of C strings for `strings`, valid only during the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
