import Foundation
import Kusari

/// Shows training progress every `updateInterval` iterations (Chainer's `ProgressBar`): the
/// total and current-epoch bars, the position, the rate in iterations per second over the recent
/// updates, and the estimated time to finish.
///
/// On a terminal the four lines are redrawn in place (`ESC[J` clears below the cursor, `ESC[4A`
/// moves back up), as in Chainer:
/// ```
///      total [#######...........................................]  14.00%
/// this epoch [###################################...............]  70.00%
///        700 iter, 1 epoch / 10 epochs
///     87.423 iters/sec. Estimated time to finish: 0:01:08.
/// ```
/// Otherwise (a file or pipe) each update prints one plain line:
/// ```
/// [ 14.00%] iteration 700, epoch 1 / 10 epochs, 87.423 iters/sec, ETA 0:01:08
/// ```
public final class ProgressBar: Extension {
    /// Training length; `nil` takes the stop trigger's interval.
    public let trainingLength: (length: Double, unit: Trigger.Unit)?
    /// Iterations between redraws.
    public let updateInterval: Int
    /// Characters in each bar.
    public let barLength: Int
    private let out: TextOutput
    private var recent: [(iteration: Int, epochDetail: Double, time: Double)] = []
    private var drawn = false

    /// - Parameters:
    ///   - trainingLength: length and unit of the training (default: from the stop trigger).
    ///   - updateInterval: iterations between updates of the display (default 100).
    ///   - barLength: bar width in characters (default 50).
    ///   - out: where to draw (standard output by default).
    public init(trainingLength: (length: Double, unit: Trigger.Unit)? = nil, updateInterval: Int = 100,
                barLength: Int = 50, out: TextOutput = .standardOutput) {
        precondition(updateInterval > 0, "ProgressBar: updateInterval must be positive")
        self.trainingLength = trainingLength
        self.updateInterval = updateInterval
        self.barLength = barLength
        self.out = out
    }

    public var name: String { "ProgressBar" }

    /// Redraws every `updateInterval` iterations.
    public func callAsFunction(_ trainer: Trainer) throws {
        let updater = trainer.updater
        guard updater.iteration % updateInterval == 0 else { return }
        guard let (length, unit) = trainingLength ?? trainer.stopTrigger.interval.map({ ($0.period, $0.unit) }) else {
            throw TrainerSetupError("ProgressBar: the stop trigger is not an interval; pass trainingLength")
        }
        let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
        recent.append((updater.iteration, updater.epochDetail, now))
        if recent.count > 100 { recent.removeFirst(recent.count - 100) }
        let oldest = recent[0]
        let span = now - oldest.time
        let iterationRate = span > 0 ? Double(updater.iteration - oldest.iteration) / span : nil
        let epochRate = span > 0 ? (updater.epochDetail - oldest.epochDetail) / span : nil
        let done = unit == .iteration ? Double(updater.iteration) : updater.epochDetail
        let fraction = Swift.min(Swift.max(done / length, 0), 1)
        let rate = unit == .iteration ? iterationRate : epochRate
        let remaining = rate.flatMap { $0 > 0 ? Swift.max(length - done, 0) / $0 : nil }
        let eta = remaining.map(ProgressBar.duration) ?? "unknown"
        let rateText = iterationRate.map { String(format: "%.5g", $0) } ?? "---"
        let lengthText = "\(PrintReport.format(length)) \(unit.rawValue)s"
        if out.isTerminal {
            let epochFraction = updater.epochDetail - updater.epochDetail.rounded(.down)
            var text = "\u{1B}[J"
            text += "     total " + bar(fraction) + "\n"
            text += "this epoch " + bar(epochFraction) + "\n"
            text += pad(String(updater.iteration), 10) + " iter, \(updater.epoch) epoch / \(lengthText)\n"
            text += pad(rateText, 10) + " iters/sec. Estimated time to finish: \(eta).\n"
            text += "\u{1B}[4A"
            out.write(text)
            drawn = true
        } else {
            out.write("[\(pad(String(format: "%.2f", fraction * 100), 6))%] iteration \(updater.iteration), "
                      + "epoch \(updater.epoch) / \(lengthText), \(rateText) iters/sec, ETA \(eta)\n")
        }
    }

    /// Clears the bar from a terminal.
    public func finalize() {
        if drawn { out.write("\u{1B}[J") }
    }

    /// `[####....]  12.34%` for `fraction` in [0, 1].
    func bar(_ fraction: Double) -> String {
        let marks = Swift.min(Swift.max(Int(fraction * Double(barLength)), 0), barLength)
        return "[" + String(repeating: "#", count: marks) + String(repeating: ".", count: barLength - marks) + "] "
            + pad(String(format: "%.2f%%", fraction * 100), 7)
    }

    /// `H:MM:SS` (with `N days, ` in front past a day), like Python's `timedelta` rounded to seconds.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        let days = total / 86_400, rest = total % 86_400
        let clock = String(format: "%d:%02d:%02d", rest / 3600, rest % 3600 / 60, rest % 60)
        return days > 0 ? "\(days) day\(days == 1 ? "" : "s"), " + clock : clock
    }

    /// Right-aligns `text` in `width` characters.
    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
