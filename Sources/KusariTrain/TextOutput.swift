import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where reports and progress bars write text, and whether it is a terminal (then they may
/// redraw in place with ANSI escapes).
public struct TextOutput {
    /// Whether the destination is an interactive terminal.
    public let isTerminal: Bool
    private let sink: (String) -> Void

    /// An output calling `write` for every piece of text.
    public init(isTerminal: Bool, write: @escaping (String) -> Void) {
        self.isTerminal = isTerminal
        self.sink = write
    }

    /// Writes `text` (flushing it).
    public func write(_ text: String) { sink(text) }

    /// Standard output (through C's `stdout`, like `print`, flushed after each write); a
    /// terminal when `isatty(1)`.
    public static var standardOutput: TextOutput {
        TextOutput(isTerminal: isatty(STDOUT_FILENO) != 0) { text in
            fputs(text, stdout)
            fflush(stdout)
        }
    }

    /// Standard error; a terminal when `isatty(2)`.
    public static var standardError: TextOutput {
        TextOutput(isTerminal: isatty(STDERR_FILENO) != 0) { text in
            fputs(text, stderr)
            fflush(stderr)
        }
    }

    /// Appends to `buffer` (for tests and for capturing reports).
    public static func buffer(_ buffer: TextBuffer, isTerminal: Bool = false) -> TextOutput {
        TextOutput(isTerminal: isTerminal) { buffer.text += $0 }
    }
}

/// Text collected by ``TextOutput/buffer(_:isTerminal:)``.
public final class TextBuffer {
    /// Everything written so far.
    public var text = ""

    /// An empty buffer.
    public init() {}
}
