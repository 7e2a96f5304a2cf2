import Foundation

/// Plots logged values against the epoch or iteration and saves the chart as a PNG, like
/// Chainer's `extensions.PlotReport`:
///
/// ```swift
/// PlotReport(y: ["main/loss", "validation/main/loss"], x: "epoch", file: "loss.png")
/// PlotReport(y: ["main/accuracy", "validation/main/accuracy"], x: "epoch", file: "accuracy.png")
/// ```
///
/// It draws one line per key of `y`, taking its points from log entries (the entries of the
/// trainer's ``LogReport``: `epoch`, `iteration`, `main/loss`, …); entries that lack the key, or
/// the `x` key, are skipped for that line. As a trainer extension it redraws `out/FILE` whenever
/// its trigger fires (every epoch by default), after the log reports of that iteration, and once
/// when training starts from a resumed, non-empty log; it needs a ``LogReport`` registered with
/// the trainer and keeps no state of its own (the log is the LogReport's). Without a trainer,
/// ``render(entries:to:)`` draws a list of entries directly.
///
/// The chart (see ``LinePlot``) is titled after the file (`loss.png` → "loss"), its x axis is
/// labelled with the `x` key and its y axis with what the keys have in common (`main/loss` and
/// `validation/main/loss` → "loss"); set ``title`` and ``yLabel`` to override them.
public final class PlotReport: Extension {
    /// The logged keys drawn, one line each, in legend order.
    public let yKeys: [String]
    /// The key giving the x coordinate: `"epoch"` or `"iteration"` (any logged key works).
    public let xKey: String
    /// The file name, relative to the trainer's output folder.
    public let file: String
    /// The chart title; `nil` (the default) uses the file name without its extension.
    public var title: String?
    /// The y-axis label; `nil` (the default) uses the last path component the keys share
    /// (`"loss"`), or nothing when they differ.
    public var yLabel: String?
    /// Whether the y axis is logarithmic.
    public var logScaleY: Bool
    /// Whether points get markers; `nil` chooses automatically (see ``LinePlot/showsMarkers``).
    public var showsMarkers: Bool?
    /// Image size in pixels.
    public var width: Int, height: Int
    /// When the plot is redrawn (default: every epoch).
    public let trigger: Trigger

    /// Creates the extension.
    /// - Parameters:
    ///   - y: the logged keys to plot, one line each.
    ///   - x: the key of the x coordinate, `"epoch"` (default) or `"iteration"`.
    ///   - file: the PNG file name, in the trainer's output folder (default `"plot.png"`).
    ///   - logScale: draw the y axis logarithmically.
    ///   - trigger: when to redraw (default every epoch, like Chainer's).
    public init(y: [String], x: String = "epoch", file: String = "plot.png", logScale: Bool = false,
                trigger: Trigger = .epochs(1), width: Int = 640, height: Int = 480) {
        precondition(!y.isEmpty, "PlotReport: no keys to plot")
        self.trigger = trigger
        self.yKeys = y
        self.xKey = x
        self.file = file
        self.logScaleY = logScale
        self.width = width
        self.height = height
    }

    /// Creates the extension for a single key.
    public convenience init(y: String, x: String = "epoch", file: String = "plot.png", logScale: Bool = false,
                            trigger: Trigger = .epochs(1)) {
        self.init(y: [y], x: x, file: file, logScale: logScale, trigger: trigger)
    }

    // MARK: - Extension

    /// Registered under `PlotReport:FILE` so that several plots can coexist.
    public var name: String { "PlotReport:\(file)" }
    /// Just below ``ExtensionPriority/reader``: after ``LogReport`` has added the entry of the
    /// iteration, whatever the registration order.
    public var priority: Int { ExtensionPriority.reader - 10 }

    /// Checks that the trainer has a ``LogReport`` and, when resuming with a non-empty log, draws
    /// the plot at once.
    /// - Throws: ``TrainerStateError`` when no ``LogReport`` is registered.
    public func initialize(_ trainer: Trainer) throws {
        guard let log = trainer.firstExtension(of: LogReport.self) else {
            throw TrainerStateError("PlotReport(\(file)) reads the log of a LogReport: register a LogReport with the trainer too")
        }
        if !log.log.isEmpty { try draw(trainer, log: log) }
    }

    /// Redraws the plot from the trainer's log.
    public func callAsFunction(_ trainer: Trainer) throws {
        guard let log = trainer.firstExtension(of: LogReport.self) else { return }
        try draw(trainer, log: log)
    }

    private func draw(_ trainer: Trainer, log: LogReport) throws {
        let url = trainer.out.appendingPathComponent(file)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try render(log: log.log, to: url)
    }

    /// The title used: ``title``, or the file name without its extension.
    public var effectiveTitle: String {
        title ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension
    }

    /// The y-axis label used: ``yLabel``, or the last `/`-separated component shared by all keys.
    public var effectiveYLabel: String {
        if let yLabel { return yLabel }
        let lasts = Set(yKeys.map { $0.split(separator: "/").last.map(String.init) ?? $0 })
        return lasts.count == 1 ? lasts.first! : ""
    }

    /// The chart for `entries`: one series per key of ``yKeys``, with a point `(entry[x], entry[y])`
    /// for every entry holding both keys, in log order.
    public func plot(entries: [[String: Double]]) -> LinePlot {
        var chart = LinePlot(title: effectiveTitle, xLabel: xKey, yLabel: effectiveYLabel,
                             logScaleY: logScaleY, width: width, height: height)
        chart.showsMarkers = showsMarkers
        for key in yKeys {
            let points = entries.compactMap { entry -> (x: Double, y: Double)? in
                guard let x = entry[xKey], let y = entry[key] else { return nil }
                return (x, y)
            }
            chart.addSeries(key, points: points)
        }
        return chart
    }

    /// The chart for ``LogReport`` entries (see ``plot(entries:)``).
    public func plot(log: [LogEntry]) -> LinePlot {
        plot(entries: log.map(\.values))
    }

    /// Draws ``LogReport`` entries and writes the PNG to `url`, atomically.
    /// - Throws: ``PlotError`` when drawing or writing fails.
    public func render(log: [LogEntry], to url: URL) throws {
        try plot(log: log).write(to: url)
    }

    /// Draws `entries` (log entries, oldest first) and writes the PNG to `url`, atomically.
    /// - Throws: ``PlotError`` when drawing or writing fails.
    public func render(entries: [[String: Double]], to url: URL) throws {
        try plot(entries: entries).write(to: url)
    }
}
