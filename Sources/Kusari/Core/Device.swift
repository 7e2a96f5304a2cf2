/// Where a tensor's memory lives and where its ops run.
///
/// Only the CPU backend exists in this build; `cuda` is the slot the GPU backend fills.
public enum Device: Hashable, Sendable, CustomStringConvertible {
    case cpu
    case cuda(Int)

    /// Parses `cpu`, `cuda`, `cuda:N` or a Chainer-style GPU id (`-1` = CPU, `N` = `cuda:N`).
    public init?(parsing text: String) {
        let lower = text.lowercased()
        if lower == "cpu" || lower == "-1" { self = .cpu; return }
        if lower == "cuda" || lower == "gpu" { self = .cuda(0); return }
        if lower.hasPrefix("cuda:"), let index = Int(lower.dropFirst(5)), index >= 0 { self = .cuda(index); return }
        if let index = Int(lower), index >= 0 { self = .cuda(index); return }
        return nil
    }

    public var description: String {
        switch self {
        case .cpu: return "cpu"
        case .cuda(let index): return "cuda:\(index)"
        }
    }
}
