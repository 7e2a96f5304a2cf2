import Crypto
import Foundation

/// A compiled kernel source: PTX text (NUL-terminated, as `cuModuleLoadData` wants it) or a
/// cubin.
public struct KernelBinary: Sendable {
    /// PTX (virtual architecture, JIT-compiled by the driver) or cubin (one real architecture).
    public enum Format: String, Sendable {
        /// `compute_XX`: portable to newer GPUs through the driver's JIT.
        case ptx
        /// `sm_XX`: machine code for one architecture, loads without JIT.
        case cubin
    }

    /// The source's name.
    public let name: String
    /// The format of ``data``.
    public let format: Format
    /// The bytes to hand to `cuModuleLoadData`.
    public let data: Data

    /// The PTX as text (empty for a cubin).
    public var ptx: String {
        guard format == .ptx else { return "" }
        return String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// What NVRTC compiles for: a PTX virtual architecture or a cubin for one GPU generation.
public struct KernelTarget: Sendable, Hashable, CustomStringConvertible {
    /// The output format.
    public let format: KernelBinary.Format
    /// The architecture number (`80` for `compute_80`/`sm_80`).
    public let architecture: Int

    /// PTX for `compute_<architecture>`.
    public static func ptx(_ architecture: Int) -> KernelTarget { .init(format: .ptx, architecture: architecture) }

    /// A cubin for `sm_<architecture>`.
    public static func cubin(_ architecture: Int) -> KernelTarget { .init(format: .cubin, architecture: architecture) }

    /// A cubin for the device's own architecture (loads without JIT).
    public static func device(_ info: CUDADeviceInfo) -> KernelTarget { .cubin(info.architecture) }

    /// NVRTC options: the architecture, C++17, and IEEE-exact float division and square root
    /// (no fast math), so the kernels' arithmetic is what their sources say.
    public var options: [String] {
        let prefix = format == .ptx ? "compute_" : "sm_"
        return ["--gpu-architecture=\(prefix)\(architecture)", "--std=c++17", "--prec-div=true",
                "--prec-sqrt=true", "--ftz=false"]
    }

    /// `compute_80 (ptx)`, `sm_90 (cubin)`.
    public var description: String {
        (format == .ptx ? "compute_" : "sm_") + "\(architecture) (\(format.rawValue))"
    }
}

/// Compiles the project's kernel sources with NVRTC and loads them into GPU contexts.
///
/// Compiled binaries are cached in memory and on disk, under
/// `$XDG_CACHE_HOME/kusari/kernels` (default `~/.cache/kusari/kernels`), in files named by the
/// SHA-256 of the source, the options and NVRTC's version, so a changed kernel, target or
/// compiler never reuses a stale binary. The disk cache is best effort: a directory that cannot
/// be written only costs recompilation.
public final class KernelLibrary: @unchecked Sendable {
    /// The compiler.
    public let nvrtc: NVRTC
    /// What the sources are compiled for.
    public let target: KernelTarget
    /// Where compiled binaries are kept between runs (`nil`: memory only).
    public let cacheDirectory: URL?

    private let lock = NSLock()
    private let compilerVersion: String
    private var binaries: [String: KernelBinary] = [:]
    private var contexts: [ObjectIdentifier: LoadedModules] = [:]

    /// The modules and kernels loaded into one context.
    private struct LoadedModules {
        let context: CUDAContext
        var modules: [String: CUmodule] = [:]
        var signatures: [String: [String: [KernelParameter]]] = [:]
        var functions: [String: KernelFunction] = [:]
    }

    /// A library compiling for `target`, caching on disk in `cacheDirectory`.
    public init(nvrtc: NVRTC, target: KernelTarget,
                cacheDirectory: URL? = KernelLibrary.defaultCacheDirectory()) throws {
        self.nvrtc = nvrtc
        self.target = target
        self.cacheDirectory = cacheDirectory
        let version = try nvrtc.version()
        compilerVersion = "nvrtc \(version.major).\(version.minor)"
    }

    /// `$XDG_CACHE_HOME/kusari/kernels`, or `~/.cache/kusari/kernels`.
    public static func defaultCacheDirectory() -> URL {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent(".cache")
        return base.appendingPathComponent("kusari/kernels")
    }

    /// The cache key of `source` for this library's target and compiler (hex SHA-256).
    public func cacheKey(for source: KernelSource) -> String {
        let material = [source.code, target.options.joined(separator: " "), compilerVersion].joined(separator: "\u{0}")
        return SHA256.hash(data: Data(material.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The compiled `source`, from memory, from disk, or freshly compiled (and then stored).
    public func compile(_ source: KernelSource) throws -> KernelBinary {
        let key = cacheKey(for: source)
        lock.lock()
        let known = binaries[key]
        lock.unlock()
        if let known { return known }
        let file = cacheDirectory?.appendingPathComponent("\(key).\(target.format.rawValue)")
        let binary: KernelBinary
        if let file, let data = try? Data(contentsOf: file), !data.isEmpty {
            binary = KernelBinary(name: source.name, format: target.format, data: data)
        } else {
            let data = try nvrtc.compile(source: source.code, name: source.name + ".cu", options: target.options,
                                         output: target.format)
            binary = KernelBinary(name: source.name, format: target.format, data: data)
            if let file { store(data, at: file) }
        }
        lock.lock()
        binaries[key] = binary
        lock.unlock()
        return binary
    }

    /// The kernel `name` of `source`, compiled and loaded into `context` on first use (the
    /// library keeps the contexts it loaded modules into alive).
    public func function(_ name: String, in source: KernelSource, context: CUDAContext) throws -> KernelFunction {
        precondition(source.functions.contains(name), "\(source.name) has no kernel \(name)")
        let binary = try compile(source)
        lock.lock(); defer { lock.unlock() }
        var loaded = contexts[ObjectIdentifier(context)] ?? LoadedModules(context: context)
        defer { contexts[ObjectIdentifier(context)] = loaded }
        if let known = loaded.functions[source.name + "/" + name] { return known }
        let module: CUmodule
        if let existing = loaded.modules[source.name] {
            module = existing
        } else {
            module = try context.loadModule(binary)
            loaded.modules[source.name] = module
            loaded.signatures[source.name] = KernelParameter.signatures(ofPTX: binary.ptx)
        }
        let function = try context.function(name, in: module, parameters: loaded.signatures[source.name]?[name])
        loaded.functions[source.name + "/" + name] = function
        return function
    }

    /// Writes `data` to `file` atomically (temporary file, then rename), ignoring failures.
    private func store(_ data: Data, at file: URL) {
        let directory = file.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try data.write(to: file, options: .atomic)
        } catch {
            // The cache only saves time; an unwritable directory means compiling again next run.
        }
    }
}
