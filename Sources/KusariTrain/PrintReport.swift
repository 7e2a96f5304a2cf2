import Foundation
import Kusari

/// Prints ``LogReport``'s entries as a table (Chainer's `PrintReport`): a header line with the
/// chosen names, then one row per new log entry. Each column is `max(10, name length)` wide and
/// followed by two spaces; values use `%g` (six significant digits), missing values are blank.
///
/// ```
/// epoch       main/loss   validation/main/loss  main/accuracy  validation/main/accuracy  elapsed_time
/// 1           1.90247     1.6561                0.30862        0.3994                    5.94376
/// ```
/// On a terminal each row first clears what is below the cursor (a progress bar) with `ESC[J`.
/// A resumed run prints the header and the rows already in the restored log again.
public final class PrintReport: Extension {
    /// Observation names of the columns.
    public let entries: [String]
    /// Name of the ``LogReport`` extension to read.
    public let logReportName: String
    private let out: TextOutput
    private var headerPrinted = false
    private var printed = 0

    /// - Parameters:
    ///   - entries: column names, e.g. `["epoch", "main/loss", "validation/main/loss", "elapsed_time"]`.
    ///   - logReport: registration name of the ``LogReport`` to read.
    ///   - out: where to print (standard output by default).
    public init(entries: [String], logReport: String = "LogReport", out: TextOutput = .standardOutput) {
        self.entries = entries
        self.logReportName = logReport
        self.out = out
    }

    public var name: String { "PrintReport" }

    /// Column widths: `max(10, name length)`.
    public var widths: [Int] { entries.map { Swift.max(10, $0.count) } }

    /// The header line (with its newline).
    public var header: String {
        zip(entries, widths).map { pad($0, $1) }.joined(separator: "  ") + "\n"
    }

    /// The row of `entry` (with its newline).
    public func row(_ entry: LogEntry) -> String {
        var line = ""
        for (key, width) in zip(entries, widths) {
            if let value = entry[key] {
                line += pad(PrintReport.format(value), width) + "  "
            } else {
                line += String(repeating: " ", count: width + 2)
            }
        }
        return line + "\n"
    }

    /// Prints the header on the first call and a row for every entry not printed yet.
    public func callAsFunction(_ trainer: Trainer) throws {
        guard let report = trainer.getExtension(logReportName) as? LogReport else {
            throw TrainerSetupError("PrintReport: no LogReport is registered as '\(logReportName)'")
        }
        if !headerPrinted {
            out.write(header)
            headerPrinted = true
        }
        while printed < report.log.count {
            if out.isTerminal { out.write("\u{1B}[J") }
            out.write(row(report.log[printed]))
            printed += 1
        }
    }

    /// `value` as C's (and Python's) `%g`.
    public static func format(_ value: Double) -> String { String(format: "%g", value) }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
