import Foundation

/// One entry of ``LogReport``'s log: the means of the observations over one interval, then
/// `epoch`, `iteration` and `elapsed_time`, in that order.
public typealias LogEntry = Observation

extension Observation {
    /// `epoch` as an integer (0 when absent).
    public var epoch: Int { Int(self["epoch"] ?? 0) }
    /// `iteration` as an integer (0 when absent).
    public var iteration: Int { Int(self["iteration"] ?? 0) }
    /// `elapsed_time` in seconds (0 when absent).
    public var elapsedTime: Double { self["elapsed_time"] ?? 0 }
}

/// Writes log entries as JSON in the layout of Python's `json.dump(log, indent=4)` (Chainer's
/// `log` file), and reads them back.
public enum LogJSON {
    /// Names written as JSON integers.
    static let integerKeys: Set<String> = ["epoch", "iteration"]

    /// The JSON text of `entries`: an array of objects, four-space indentation, keys in entry
    /// order; `epoch` and `iteration` as integers, other values as shortest round-trip decimals,
    /// and NaN or infinite values as `null` (so any JSON reader accepts the file).
    public static func encode(_ entries: [LogEntry]) -> String {
        guard !entries.isEmpty else { return "[]" }
        var text = "[\n"
        for (index, entry) in entries.enumerated() {
            text += "    {\n"
            let lines = entry.map { key, value in "        \(quote(key)): \(number(value, integer: integerKeys.contains(key)))" }
            text += lines.joined(separator: ",\n")
            text += lines.isEmpty ? "    }" : "\n    }"
            text += index + 1 < entries.count ? ",\n" : "\n"
        }
        return text + "]"
    }

    /// Parses text written by ``encode(_:)`` (or any JSON array of flat objects with numbers or
    /// `null`, read as NaN). Key order within an entry follows the text.
    public static func decode(_ text: String) throws -> [LogEntry] {
        var parser = LogJSONParser(bytes: Array(text.utf8))
        return try parser.log()
    }

    static func number(_ value: Double, integer: Bool) -> String {
        guard value.isFinite else { return "null" }
        if integer, value == value.rounded(), Swift.abs(value) < 9e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
