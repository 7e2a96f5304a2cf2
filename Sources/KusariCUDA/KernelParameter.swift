import Foundation

/// One parameter of a compiled kernel, as the driver lays it out.
///
/// `cuLaunchKernel` takes an array of argument addresses and reads from each as many bytes as
/// the kernel's parameter has, so an argument list that does not fit the kernel (one argument
/// short, an `int` where the kernel takes `long long`, a `float` for an `int`) would make the
/// kernel run on garbage. ``CUDAContext/launch(_:grid:block:sharedMemory:arguments:)`` compares
/// the arguments with these first and throws ``CUDAError/kernelArguments(kernel:problem:)``.
public struct KernelParameter: Equatable, Sendable, CustomStringConvertible {
    /// How the parameter is passed.
    public enum Kind: Sendable {
        /// An integer or pointer (PTX `.u64`, `.s32`, `.b8`, …).
        case integer
        /// A float or double (PTX `.f32`, `.f64`).
        case floatingPoint
        /// A struct passed by value (PTX `.b8 name[size]`).
        case bytes
        /// Only the size is known (from `cuFuncGetParamInfo`, for a cubin).
        case unknown
    }

    /// How the parameter is passed.
    public let kind: Kind
    /// Its size in bytes.
    public let size: Int

    /// A parameter of `kind` taking `size` bytes.
    public init(_ kind: Kind, size: Int) {
        self.kind = kind
        self.size = size
    }

    /// `int64`, `float32`, `144 bytes`, `8 bytes of any kind`.
    public var description: String {
        switch kind {
        case .integer: return "int\(size * 8)"
        case .floatingPoint: return "float\(size * 8)"
        case .bytes: return "\(size)-byte struct"
        case .unknown: return "\(size) bytes"
        }
    }

    /// Whether an argument passed as `other` fits this parameter.
    func accepts(_ other: KernelParameter) -> Bool {
        size == other.size && (kind == other.kind || kind == .unknown || other.kind == .unknown)
    }

    /// The parameter lists of the `.entry` kernels of a PTX module, by kernel name.
    public static func signatures(ofPTX ptx: String) -> [String: [KernelParameter]] {
        var signatures: [String: [KernelParameter]] = [:]
        var remaining = Substring(ptx)
        while let entry = remaining.range(of: ".entry ") {
            remaining = remaining[entry.upperBound...]
            guard let open = remaining.firstIndex(of: "("), let close = remaining.firstIndex(of: ")") else { break }
            let name = remaining[..<open].trimmingCharacters(in: .whitespaces)
            let declarations = remaining[remaining.index(after: open)..<close].split(separator: ",")
            signatures[name] = declarations.compactMap { parameter(fromPTX: String($0)) }
            remaining = remaining[close...]
        }
        return signatures
    }

    /// The parameter a PTX declaration such as `.param .u64 k_param_0` or
    /// `.param .align 8 .b8 k_param_6[144]` declares.
    static func parameter(fromPTX declaration: String) -> KernelParameter? {
        let words = declaration.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard words.first == ".param", let type = words.first(where: { $0.hasPrefix(".") && $0 != ".param" && $0 != ".align"
                                                                         && $0.dropFirst().first?.isLetter == true }),
              let bits = Int(type.dropFirst(2)) else { return nil }
        if let name = words.last, let open = name.firstIndex(of: "["), let count = Int(name[name.index(after: open)...].dropLast()) {
            return KernelParameter(.bytes, size: count * bits / 8)
        }
        return KernelParameter(type.hasPrefix(".f") ? .floatingPoint : .integer, size: bits / 8)
    }

    /// What is wrong with passing `arguments` to a kernel declaring `parameters`, or `nil` when
    /// they fit.
    static func mismatch(_ arguments: [KernelArgument], _ parameters: [KernelParameter]) -> String? {
        guard arguments.count == parameters.count else {
            return "\(arguments.count) arguments for \(parameters.count) parameters"
                + " (\(parameters.map(\.description).joined(separator: ", ")))"
        }
        for (index, (argument, parameter)) in zip(arguments, parameters).enumerated()
        where !parameter.accepts(argument.parameter) {
            return "argument \(index) is \(argument.parameter), the kernel's parameter \(index) is \(parameter)"
        }
        return nil
    }
}

extension KernelArgument {
    /// The parameter this argument fills.
    var parameter: KernelParameter {
        switch self {
        case .pointer, .null, .int64, .uint64: return KernelParameter(.integer, size: 8)
        case .int32: return KernelParameter(.integer, size: 4)
        case .float: return KernelParameter(.floatingPoint, size: 4)
        case .int64s(let values): return KernelParameter(.bytes, size: values.count * 8)
        }
    }
}
