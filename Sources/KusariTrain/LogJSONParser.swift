import Foundation

/// A small parser for a JSON array of flat objects whose values are numbers or `null`, keeping
/// key order and parsing numbers exactly.
struct LogJSONParser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func log() throws -> [LogEntry] {
        var entries: [LogEntry] = []
        try expect(UInt8(ascii: "["))
        if peek() == UInt8(ascii: "]") { index += 1; return try end(entries) }
        while true {
            entries.append(try object())
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "]"))
            return try end(entries)
        }
    }

    private mutating func end(_ entries: [LogEntry]) throws -> [LogEntry] {
        skipSpace()
        guard index == bytes.count else { throw failure("expected the end of the log") }
        return entries
    }

    private mutating func object() throws -> LogEntry {
        var entry = LogEntry()
        try expect(UInt8(ascii: "{"))
        if peek() == UInt8(ascii: "}") { index += 1; return entry }
        while true {
            let key = try string()
            try expect(UInt8(ascii: ":"))
            entry[key] = try value()
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"))
            return entry
        }
    }

    private mutating func value() throws -> Double {
        skipSpace()
        let start = index
        while index < bytes.count, !Set(",}] \n\r\t".utf8).contains(bytes[index]) { index += 1 }
        let token = String(decoding: bytes[start..<index], as: UTF8.self)
        switch token {
        case "null", "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let value = Double(token) else { throw failure("expected a number, found '\(token)'", at: start) }
            return value
        }
    }

    private mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""))
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll()
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") { flush(); return String(scalars) }
            guard byte == UInt8(ascii: "\\") else { raw.append(byte); continue }
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            flush()
            switch escape {
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "b"): scalars.append("\u{8}")
            case UInt8(ascii: "f"): scalars.append("\u{C}")
            case UInt8(ascii: "u"):
                guard index + 4 <= bytes.count,
                      let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
                      let scalar = Unicode.Scalar(code) else { throw failure("bad \\u escape") }
                index += 4
                scalars.append(scalar)
            default: scalars.append(Unicode.Scalar(escape))
            }
        }
        throw failure("unterminated string")
    }

    private mutating func expect(_ byte: UInt8) throws {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else {
            throw failure("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        index += 1
    }

    private mutating func peek() -> UInt8? {
        skipSpace()
        return index < bytes.count ? bytes[index] : nil
    }

    private mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
    }

    private func failure(_ message: String, at position: Int? = nil) -> TrainerStateError {
        TrainerStateError("log JSON: byte offset \(position ?? index): \(message)")
    }
}
