/// Errors raised by tensor operations and backends.
///
/// Shape problems in arithmetic are programming errors and trap with a message, like PyTorch's
/// exceptions; operations whose inputs come from files or users throw these instead.
public enum KusariError: Error, CustomStringConvertible {
    case shapeMismatch(String)
    case invalidArgument(String)
    case backend(String)
    case unsupportedDevice(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let message): return "shape mismatch: \(message)"
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .backend(let message): return "backend error: \(message)"
        case .unsupportedDevice(let message): return "unsupported device: \(message)"
        }
    }
}

/// Stops with a readable message when a tensor-op precondition fails (also in release builds).
@inline(__always)
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError("Kusari: " + message(), file: file, line: line) }
}
