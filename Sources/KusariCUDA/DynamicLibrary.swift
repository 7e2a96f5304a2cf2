import Foundation

/// Where a binding finds its C functions by name: a `dlopen`ed ``DynamicLibrary``, or a table
/// of functions standing in for one (the test suite's stand-in CUDA driver).
public protocol CFunctionLookup: AnyObject, Sendable {
    /// The library's file, or what the table stands for.
    var path: String { get }
    /// The address of the C function `name`; throws ``CUDAError/missingSymbol(library:symbol:)``
    /// when there is none.
    func address(of name: String) throws -> UnsafeMutableRawPointer
}

extension CFunctionLookup {
    /// The function `name` cast to the `@convention(c)` type `type`; throws
    /// ``CUDAError/missingSymbol(library:symbol:)`` when there is none.
    public func function<F>(_ name: String, as type: F.Type = F.self) throws -> F {
        precondition(MemoryLayout<F>.size == MemoryLayout<UnsafeRawPointer>.size,
                     "\(F.self) is not a C function pointer type")
        return unsafeBitCast(try address(of: name), to: F.self)
    }
}

/// A shared library opened with `dlopen`, from which C functions are looked up by name.
///
/// Libraries are opened with `RTLD_NOW | RTLD_GLOBAL` so that a CUDA library that itself
/// `dlopen`s a sibling by soname (cuBLAS → cuBLASLt, cuDNN → its sub-libraries and NVRTC) finds
/// the copy already loaded here instead of searching again. Handles are never closed: the
/// function pointers taken from them live as long as the process.
public final class DynamicLibrary: CFunctionLookup, @unchecked Sendable {
    /// The file that was opened (or the bare soname when the dynamic linker found it).
    public let path: String
    private let handle: UnsafeMutableRawPointer

    /// Opens the library at `path`; throws ``CUDAError/libraryLoadFailed(path:reason:)`` with
    /// the dynamic linker's message when it cannot be loaded (missing, not an ELF file, wrong
    /// architecture, unresolved dependencies).
    public init(path: String) throws {
        _ = dlerror()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL) else {
            throw CUDAError.libraryLoadFailed(path: path, reason: DynamicLibrary.lastError() ?? "unknown dlopen error")
        }
        self.path = path
        self.handle = handle
    }

    /// The exported symbol `name`; throws ``CUDAError/missingSymbol(library:symbol:)`` when the
    /// library does not export it.
    public func address(of name: String) throws -> UnsafeMutableRawPointer {
        _ = dlerror()
        guard let address = dlsym(handle, name) else {
            throw CUDAError.missingSymbol(library: path, symbol: name)
        }
        return address
    }

    private static func lastError() -> String? {
        guard let message = dlerror() else { return nil }
        return String(cString: message)
    }
}

/// The CUDA libraries Kusari uses, with the sonames it tries and the pip wheel that ships each.
public enum CUDALibrary: String, CaseIterable, Sendable, CustomStringConvertible {
    /// The CUDA driver API (installed with the NVIDIA driver, never in a wheel).
    case driver
    /// The runtime compiler for the project's kernels.
    case nvrtc
    /// Dense linear algebra.
    case cublas
    /// cuBLAS's lightweight GEMM library (cuBLAS loads it; loading it first lets cuBLAS find it).
    case cublasLt
    /// Convolution, pooling, normalisation and activation primitives.
    case cudnn
    /// Collective communication between GPUs.
    case nccl

    /// Sonames tried in order (newest major version first where two are supported).
    public var sonames: [String] {
        switch self {
        case .driver: return ["libcuda.so.1"]
        case .nvrtc: return ["libnvrtc.so.13", "libnvrtc.so.12"]
        case .cublas: return ["libcublas.so.13", "libcublas.so.12"]
        case .cublasLt: return ["libcublasLt.so.13", "libcublasLt.so.12"]
        case .cudnn: return ["libcudnn.so.9"]
        case .nccl: return ["libnccl.so.2"]
        }
    }

    /// The name used in reports (`libcuda`, `libnvrtc`, …).
    public var description: String {
        switch self {
        case .driver: return "libcuda"
        case .nvrtc: return "libnvrtc"
        case .cublas: return "libcublas"
        case .cublasLt: return "libcublasLt"
        case .cudnn: return "libcudnn"
        case .nccl: return "libnccl"
        }
    }
}

/// The outcome of looking for one library: where it was loaded from, or every place tried and
/// why each failed.
public struct LibraryProbe: Sendable {
    /// One file (or bare soname) that was tried and could not be used.
    public struct Attempt: Sendable {
        /// The path handed to `dlopen`.
        public let path: String
        /// Why it could not be used.
        public let reason: String
    }

    /// The library looked for.
    public let library: CUDALibrary
    /// The library, when one of the candidates loaded.
    public let loaded: DynamicLibrary?
    /// Candidates that exist but failed to load, in the order tried.
    public let attempts: [Attempt]
    /// The directories searched, in order.
    public let searched: [String]

    /// `found at PATH`, or why not: the load failures if any file existed, otherwise that no
    /// file with any of the sonames was present.
    public var summary: String {
        if let loaded { return "found at \(loaded.path)" }
        if !attempts.isEmpty {
            return "not usable: " + attempts.map { "could not load \($0.path): \($0.reason)" }.joined(separator: "; ")
        }
        let shown = searched.prefix(4).joined(separator: ", ")
        let places = searched.isEmpty ? "" : (searched.count > 4 ? "\(shown) and \(searched.count - 4) more, " : shown + ", ")
        return "not found (\(library.sonames.joined(separator: ", ")) in \(places)and the dynamic linker's default paths)"
    }
}

/// Finds the CUDA libraries on this machine without any CUDA installation at build time.
///
/// Directories are searched in this order: `KUSARI_CUDA_PATH` (colon-separated; each entry and
/// its `lib64`/`lib`), `LD_LIBRARY_PATH`, the standard CUDA locations, then the `nvidia/*/lib`
/// folders of pip-installed CUDA wheels in Python site-packages (`$KUSARI_PYTHON_SITE`,
/// `$VIRTUAL_ENV`, `~/.local`, `/usr/local`, `/usr`). When no file is found there, the bare soname
/// is handed to the dynamic linker, which also consults `ld.so.cache`.
public enum LibraryLocator {
    /// The standard locations of a CUDA toolkit and of the driver library.
    public static let standardDirectories = [
        "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu",
    ]

    /// Directories to search, in order, for the given environment and home directory; only
    /// existing directories are returned, each once.
    public static func searchDirectories(environment: [String: String] = ProcessInfo.processInfo.environment,
                                         home: String = NSHomeDirectory()) -> [String] {
        var candidates: [String] = []
        for entry in pathList(environment["KUSARI_CUDA_PATH"]) {
            candidates += [entry, entry + "/lib64", entry + "/lib"]
        }
        candidates += pathList(environment["LD_LIBRARY_PATH"])
        candidates += standardDirectories
        for site in sitePackages(environment: environment, home: home) {
            candidates += glob(site + "/nvidia/*/lib")
        }
        var seen = Set<String>()
        return candidates.filter { directory in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
            else { return false }
            return seen.insert(directory).inserted
        }
    }

    /// Python site-packages folders that may hold `nvidia-*` wheels, most specific first.
    static func sitePackages(environment: [String: String], home: String) -> [String] {
        var folders = pathList(environment["KUSARI_PYTHON_SITE"])
        if let venv = environment["VIRTUAL_ENV"], !venv.isEmpty {
            folders += glob(venv + "/lib/python3*/site-packages")
        }
        folders += glob(home + "/.local/lib/python3*/site-packages")
        folders += glob("/usr/local/lib/python3*/dist-packages") + glob("/usr/local/lib/python3*/site-packages")
        folders += glob("/usr/lib/python3*/dist-packages") + glob("/usr/lib/python3*/site-packages")
        return folders
    }

    /// Looks for `library` in `directories` (every soname in each directory before the next
    /// directory), loading the first file that exists; when `useLinkerDefaults` is set and no
    /// file loaded, also tries the bare sonames through the dynamic linker.
    public static func locate(_ library: CUDALibrary, in directories: [String],
                              useLinkerDefaults: Bool = true) -> LibraryProbe {
        var attempts: [LibraryProbe.Attempt] = []
        for directory in directories {
            for soname in library.sonames {
                let path = directory + "/" + soname
                guard FileManager.default.fileExists(atPath: path) else { continue }
                do {
                    return LibraryProbe(library: library, loaded: try DynamicLibrary(path: path),
                                        attempts: attempts, searched: directories)
                } catch {
                    attempts.append(.init(path: path, reason: loadFailureReason(error)))
                }
            }
        }
        if useLinkerDefaults {
            for soname in library.sonames {
                // A bare soname that is simply absent is not worth reporting; other failures are.
                if let loaded = try? DynamicLibrary(path: soname) {
                    return LibraryProbe(library: library, loaded: loaded, attempts: attempts, searched: directories)
                }
            }
        }
        return LibraryProbe(library: library, loaded: nil, attempts: attempts, searched: directories)
    }

    /// Loads `library` from the process's search directories once, remembering the outcome.
    public static func probe(_ library: CUDALibrary) -> LibraryProbe {
        cache.probe(library)
    }

    private static let cache = ProbeCache()

    private static func loadFailureReason(_ error: Error) -> String {
        if case CUDAError.libraryLoadFailed(_, let reason) = error { return reason }
        return "\(error)"
    }

    private static func pathList(_ value: String?) -> [String] {
        (value ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
    }

    /// Paths matching a shell pattern, sorted; none when nothing matches.
    static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { index in
            result.gl_pathv[index].map { String(cString: $0) }
        }
    }
}

/// The probes made so far in this process, one per library.
private final class ProbeCache: @unchecked Sendable {
    private let lock = NSLock()
    private var probes: [CUDALibrary: LibraryProbe] = [:]

    func probe(_ library: CUDALibrary) -> LibraryProbe {
        lock.lock(); defer { lock.unlock() }
        if let known = probes[library] { return known }
        let probe = LibraryLocator.locate(library, in: LibraryLocator.searchDirectories())
        probes[library] = probe
        return probe
    }
}
