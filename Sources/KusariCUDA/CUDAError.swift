import Foundation

/// Errors from loading the CUDA libraries and from their calls.
///
/// Every non-success status of a CUDA driver, NVRTC, cuBLAS, cuDNN or NCCL call becomes
/// ``call(library:function:status:name:)``, which names the call and carries the library's own
/// name (and explanation, where the library has one) for the status.
public enum CUDAError: Error, CustomStringConvertible, Equatable {
    /// No usable copy of a library was found; `detail` lists what was tried.
    case libraryNotFound(CUDALibrary, detail: String)
    /// `dlopen` refused a file (missing dependency, not an ELF file, wrong architecture).
    case libraryLoadFailed(path: String, reason: String)
    /// A library was loaded but does not export a function Kusari needs (too old a version).
    case missingSymbol(library: String, symbol: String)
    /// A call returned a status other than success.
    case call(library: CUDALibrary, function: String, status: Int32, name: String)
    /// NVRTC rejected a kernel source; `log` is the compiler's output.
    case compilation(program: String, options: [String], status: String, log: String)
    /// No CUDA device is present (or the requested ordinal does not exist).
    case noDevice(String)
    /// A launch's arguments do not fit the kernel's parameters (a bug in Kusari, caught before
    /// the kernel runs on garbage).
    case kernelArguments(kernel: String, problem: String)

    public var description: String {
        switch self {
        case .libraryNotFound(let library, let detail):
            return "\(library) \(detail)"
        case .libraryLoadFailed(let path, let reason):
            return "could not load \(path): \(reason)"
        case .missingSymbol(let library, let symbol):
            return "\(library) has no function \(symbol) (library too old?)"
        case .call(let library, let function, let status, let name):
            return "\(function) failed: \(name) (status \(status), \(library))"
        case .compilation(let program, let options, let status, let log):
            let trimmed = log.trimmingCharacters(in: .whitespacesAndNewlines)
            return "NVRTC could not compile \(program) with \(options.joined(separator: " ")): \(status)"
                + (trimmed.isEmpty ? "" : "\n" + trimmed)
        case .noDevice(let message):
            return "no CUDA device: \(message)"
        case .kernelArguments(let kernel, let problem):
            return "launch of \(kernel) refused: \(problem)"
        }
    }
}
