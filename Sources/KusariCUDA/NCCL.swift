import Foundation

/// NCCL (`libnccl.so.2`), bound by `dlopen`: only its version so far, for `kusari info`.
public final class NCCL: @unchecked Sendable {
    typealias GetVersion = @convention(c) (UnsafeMutablePointer<Int32>?) -> Int32
    typealias GetErrorString = @convention(c) (Int32) -> UnsafePointer<CChar>?

    /// The loaded `libnccl`.
    public let library: DynamicLibrary
    let ncclGetVersion: GetVersion
    let ncclGetErrorString: GetErrorString

    /// Resolves the function table from an opened `libnccl`.
    init(library: DynamicLibrary) throws {
        self.library = library
        ncclGetVersion = try library.function("ncclGetVersion")
        ncclGetErrorString = try library.function("ncclGetErrorString")
    }

    private static let loaded: Result<NCCL, Error> = Result {
        let probe = LibraryLocator.probe(.nccl)
        guard let library = probe.loaded else { throw CUDAError.libraryNotFound(.nccl, detail: probe.summary) }
        return try NCCL(library: library)
    }

    /// The process's NCCL binding, loaded on first use.
    public static func load() throws -> NCCL { try loaded.get() }

    /// The library's version, such as `(2, 21, 5)`; works without a GPU.
    public func version() throws -> (major: Int, minor: Int, patch: Int) {
        var code: Int32 = 0
        let status = ncclGetVersion(&code)
        if status != 0 {
            let name = ncclGetErrorString(status).map { String(cString: $0) } ?? "ncclResult \(status)"
            throw CUDAError.call(library: .nccl, function: "ncclGetVersion", status: status, name: name)
        }
        // NCCL 2.9 and later encode major * 10000 + minor * 100 + patch.
        let value = Int(code)
        return (value / 10000, value % 10000 / 100, value % 100)
    }
}
