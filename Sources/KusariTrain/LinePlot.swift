import CCairo
import Foundation

/// A line chart drawn with cairo and saved as a PNG image: what ``PlotReport`` draws.
///
/// The chart has a title, axis labels, "nice" tick values (steps of 1, 2 or 5 times a power of
/// ten) with light grid lines, one coloured line per series (with markers when the series are
/// short) and a legend box placed in the corner of the plot area that hides the least data.
/// Margins are measured from the text so that no label is clipped. Points whose coordinates are
/// not finite (and, on a logarithmic y axis, points with `y ≤ 0`) are skipped and break the line.
///
/// ```swift
/// var plot = LinePlot(title: "loss", xLabel: "epoch", yLabel: "loss")
/// plot.addSeries("main/loss", points: [(1, 2.1), (2, 1.6), (3, 1.3)])
/// try plot.write(to: URL(fileURLWithPath: "result/loss.png"))
/// ```
///
/// Text uses cairo's "toy" text API with the system's sans-serif font (through fontconfig), so no
/// Pango is needed.
public struct LinePlot: Sendable {
    /// An RGB colour with components in `0...1`.
    public struct Color: Sendable, Equatable {
        /// Red component.
        public var red: Double
        /// Green component.
        public var green: Double
        /// Blue component.
        public var blue: Double

        /// Creates a colour from components in `0...1`.
        public init(red: Double, green: Double, blue: Double) {
            self.red = red
            self.green = green
            self.blue = blue
        }

        /// Creates a colour from a 24-bit `0xRRGGBB` value.
        public init(hex: UInt32) {
            self.init(red: Double((hex >> 16) & 0xFF) / 255, green: Double((hex >> 8) & 0xFF) / 255,
                      blue: Double(hex & 0xFF) / 255)
        }

        /// The colours given to series without an explicit one, in order (matplotlib's `tab10`);
        /// the eleventh series starts over.
        public static let palette: [Color] = [
            0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD,
            0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF,
        ].map { Color(hex: $0) }
    }

    /// One line of the chart.
    public struct Series: Sendable {
        /// The name shown in the legend.
        public var label: String
        /// The points, drawn in order (not sorted).
        public var points: [(x: Double, y: Double)]
        /// The line colour, or `nil` for the next colour of ``Color/palette``.
        public var color: Color?

        /// Creates a series.
        public init(label: String, points: [(x: Double, y: Double)], color: Color? = nil) {
            self.label = label
            self.points = points
            self.color = color
        }
    }

    /// The title drawn above the plot area (nothing when empty).
    public var title: String
    /// The label under the x axis, such as `"epoch"` or `"iteration"` (nothing when empty).
    public var xLabel: String
    /// The label left of the y axis, drawn rotated (nothing when empty).
    public var yLabel: String
    /// The lines, drawn in order (later ones on top).
    public var series: [Series]
    /// Whether the y axis is logarithmic (base 10). Non-positive values are then skipped.
    public var logScaleY: Bool
    /// Image width in pixels (default 640).
    public var width: Int
    /// Image height in pixels (default 480).
    public var height: Int
    /// Whether points get a small marker; `nil` (the default) draws markers when no series has
    /// more than 60 points, like Chainer's `PlotReport` markers on per-epoch curves.
    public var showsMarkers: Bool?
    /// Whether grid lines are drawn at the ticks (default `true`).
    public var showsGrid: Bool

    /// Creates an empty chart; add lines with ``addSeries(_:points:color:)``.
    public init(title: String = "", xLabel: String = "", yLabel: String = "", series: [Series] = [],
                logScaleY: Bool = false, width: Int = 640, height: Int = 480) {
        precondition(width >= 160 && height >= 120, "LinePlot: image size \(width)x\(height) is too small (at least 160x120)")
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logScaleY = logScaleY
        self.width = width
        self.height = height
        self.showsMarkers = nil
        self.showsGrid = true
    }

    /// Appends a line.
    public mutating func addSeries(_ label: String, points: [(x: Double, y: Double)], color: Color? = nil) {
        series.append(Series(label: label, points: points, color: color))
    }

    // MARK: - Output

    /// Draws the chart and writes it as a PNG file, atomically: the image goes to a temporary file
    /// in the same folder, which is then renamed over `url`, so a reader never sees a half-written
    /// plot. The folder must exist.
    /// - Throws: ``PlotError`` when drawing or writing fails.
    public func write(to url: URL) throws {
        let data = try pngData()
        try LinePlot.writeAtomically(data, to: url)
    }

    /// Draws the chart and returns the PNG file's bytes.
    /// - Throws: ``PlotError`` when cairo fails.
    public func pngData() throws -> Data {
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)) else {
            throw PlotError(file: nil, message: "cairo could not create a \(width)x\(height) image")
        }
        defer { cairo_surface_destroy(surface) }
        guard let cr = cairo_create(surface) else {
            throw PlotError(file: nil, message: "cairo could not create a drawing context")
        }
        defer { cairo_destroy(cr) }
        Renderer(plot: self, cr: cr).draw()
        let status = cairo_status(cr)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw PlotError(file: nil, message: "cairo drawing failed: \(String(cString: cairo_status_to_string(status)))")
        }
        cairo_surface_flush(surface)
        let sink = PNGSink()
        let writeStatus = cairo_surface_write_to_png_stream(surface, { closure, bytes, length in
            guard let closure, let bytes else { return CAIRO_STATUS_WRITE_ERROR }
            Unmanaged<PNGSink>.fromOpaque(closure).takeUnretainedValue().data.append(bytes, count: Int(length))
            return CAIRO_STATUS_SUCCESS
        }, Unmanaged.passUnretained(sink).toOpaque())
        guard writeStatus == CAIRO_STATUS_SUCCESS else {
            throw PlotError(file: nil, message: "cairo could not encode the PNG: \(String(cString: cairo_status_to_string(writeStatus)))")
        }
        return sink.data
    }

    /// Writes `data` to a temporary file next to `url` and renames it over `url`.
    static func writeAtomically(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try data.write(to: temporary)
        } catch {
            throw PlotError(file: url.path, message: "cannot write the temporary file \(temporary.path): \(error.localizedDescription)")
        }
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw PlotError(file: url.path, message: "cannot move the plot into place: \(reason)")
        }
    }

    // MARK: - Ticks

    /// "Nice" tick values covering `lower...upper`: multiples of a step of 1, 2 or 5 times a power
    /// of ten, chosen so that there are at most about `targetCount + 1` intervals. The first tick
    /// is at or below `lower` and the last at or above `upper` (the axis is extended to them).
    ///
    /// For example `0.1...0.98` gives `0, 0.2, …, 1.0` and `1...50` gives `0, 10, …, 50`.
    /// `minimumStep` (such as 1 for whole epochs) bounds the step from below.
    public static func niceTicks(lower: Double, upper: Double, targetCount: Int = 6, minimumStep: Double = 0) -> [Double] {
        precondition(lower.isFinite && upper.isFinite, "niceTicks: bounds must be finite")
        var lower = lower, upper = upper
        if lower > upper { swap(&lower, &upper) }
        if lower == upper {
            let pad = lower == 0 ? 1 : Swift.abs(lower) * 0.1
            lower -= pad
            upper += pad
        }
        let step = Swift.max(niceStep(span: upper - lower, targetCount: targetCount), minimumStep)
        let first = (lower / step + 1e-9).rounded(.down)
        let last = (upper / step - 1e-9).rounded(.up)
        return stride(from: first, through: last, by: 1).map { index in
            let value = index * step
            return value == 0 ? 0 : value  // no -0
        }
    }

    /// The step of ``niceTicks(lower:upper:targetCount:minimumStep:)``: the smallest of 1, 2, 5 or 10 times a
    /// power of ten that is at least `span / targetCount`.
    public static func niceStep(span: Double, targetCount: Int) -> Double {
        precondition(span > 0 && span.isFinite, "niceStep: span \(span) must be positive and finite")
        let raw = span / Double(Swift.max(1, targetCount))
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        for multiple in [1.0, 2, 5, 10] where multiple * magnitude >= raw * (1 - 1e-9) {
            return multiple * magnitude
        }
        return 10 * magnitude
    }

    /// Tick values for a logarithmic axis covering `lower...upper` (both positive): the values
    /// `1, 2, 5 × 10^k` when the range spans few decades, only powers of ten (every one, or every
    /// second, fifth, …) when it spans many, and linear nice ticks when it is narrower than one
    /// 1-2-5 interval. The first tick is at or below `lower` and the last at or above `upper`.
    public static func logTicks(lower: Double, upper: Double, targetCount: Int = 6) -> [Double] {
        precondition(lower > 0 && upper > 0 && lower.isFinite && upper.isFinite, "logTicks: bounds must be positive and finite")
        var lower = lower, upper = upper
        if lower > upper { swap(&lower, &upper) }
        if lower == upper {
            lower /= 2
            upper *= 2
        }
        // The tolerance keeps float32 values such as 0.1 (0.100000001…) in their decade.
        let lowDecade = Int((log10(lower) + 1e-6).rounded(.down))
        let highDecade = Int((log10(upper) - 1e-6).rounded(.up))
        let decades = highDecade - lowDecade
        if decades > targetCount + 4 {
            // Powers of ten only, every `every`-th one.
            let every = Int((Double(decades) / Double(targetCount + 4)).rounded(.up))
            var exponent = Int((Double(lowDecade) / Double(every)).rounded(.down)) * every
            var ticks: [Double] = []
            while true {
                let value = pow(10, Double(exponent))
                ticks.append(value)
                if value >= upper * (1 - 1e-12) { return ticks }
                exponent += every
            }
        }
        // 1-2-5 candidates, from the largest one ≤ lower to the smallest one ≥ upper.
        var candidates: [Double] = []
        for decade in (lowDecade - 1)...(highDecade + 1) {
            for multiple in [1.0, 2, 5] { candidates.append(multiple * pow(10, Double(decade))) }
        }
        let tolerance = 1e-6
        let startIndex = candidates.lastIndex { $0 <= lower * (1 + tolerance) } ?? 0
        let endIndex = candidates.firstIndex { $0 >= upper * (1 - tolerance) } ?? candidates.count - 1
        let oneTwoFive = Array(candidates[startIndex...endIndex])
        if oneTwoFive.count < 3 {
            // Narrow range: linear ticks look better.
            let linear = niceTicks(lower: lower, upper: upper, targetCount: Swift.max(3, targetCount - 2))
            if linear.first! > 0 { return linear }
            return Array(linear.dropFirst())
        }
        if oneTwoFive.count <= targetCount + 4 { return oneTwoFive }
        let powers = (lowDecade...highDecade).map { pow(10, Double($0)) }
        return powers
    }

    /// The text of tick `value` on an axis whose ticks are `step` apart: as many decimals as the
    /// step needs (`0.25`-style values never occur), scientific notation for very large or very
    /// small magnitudes (`1e+07`, `2.5e-06`).
    public static func tickLabel(_ value: Double, step: Double) -> String {
        let value = Swift.abs(value) < Swift.abs(step) * 1e-9 ? 0 : value
        let magnitude = Swift.max(Swift.abs(value), Swift.abs(step))
        if magnitude >= 1e7 || (step < 1e-4 && magnitude < 1e-3) || step < 1e-6 {
            let digits = Swift.max(0, Int((log10(Swift.max(Swift.abs(value), step))).rounded(.down))
                                      - Int((log10(step) + 1e-9).rounded(.down)))
            return trimExponent(String(format: "%.\(Swift.min(digits, 6))e", value))
        }
        let decimals = Swift.max(0, -Int((log10(step) + 1e-9).rounded(.down)))
        return String(format: "%.\(Swift.min(decimals, 10))f", value)
    }

    /// The text of a tick on a logarithmic axis: the plain value between `1e-4` and `1e6`
    /// (`0.01`, `20`), scientific notation outside (`1e-05`).
    public static func logTickLabel(_ value: Double) -> String {
        if value >= 1e-4 && value < 1e6 {
            let decimals = Swift.max(0, -Int((log10(value) + 1e-9).rounded(.down)))
            var text = String(format: "%.\(decimals + 2)f", value)
            // Trim the zeros a value such as 1.5e-3 does not need.
            if text.contains(".") {
                while text.hasSuffix("0") { text.removeLast() }
                if text.hasSuffix(".") { text.removeLast() }
            }
            return text
        }
        return trimExponent(String(format: "%.0e", value))
    }

    /// Turns `1e+07` into `1e+07` and `1.0e-05` into `1e-05` (drops a zero fraction).
    private static func trimExponent(_ text: String) -> String {
        guard let e = text.firstIndex(of: "e") else { return text }
        var mantissa = String(text[..<e])
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        return mantissa + text[e...]
    }
}

/// Why a plot could not be drawn or written.
public struct PlotError: Error, CustomStringConvertible, LocalizedError, Sendable {
    /// The file being written, when there was one.
    public let file: String?
    /// What went wrong.
    public let message: String

    /// Creates an error.
    public init(file: String?, message: String) {
        self.file = file
        self.message = message
    }

    /// `"plot FILE: MESSAGE"`.
    public var description: String { "plot" + (file.map { " \($0)" } ?? "") + ": " + message }
    /// Same as ``description``.
    public var errorDescription: String? { description }
}

/// Collects the bytes cairo's PNG encoder emits.
private final class PNGSink {
    var data = Data()
}

// MARK: - Drawing

/// Lays out and draws one chart on a cairo context.
private struct Renderer {
    let plot: LinePlot
    let cr: OpaquePointer

    // Font sizes (pixels) and spacing.
    let titleSize = 16.0, labelSize = 13.0, tickSize = 11.0, legendSize = 11.0
    let tickLength = 5.0, gap = 6.0, outerMargin = 10.0

    /// A series with its drawable points split into unbroken runs, and its colour.
    struct Line {
        var label: String
        var runs: [[(x: Double, y: Double)]]
        var color: LinePlot.Color
        var pointCount: Int { runs.reduce(0) { $0 + $1.count } }
    }

    /// The mapping from data to pixel coordinates.
    struct Frame {
        var left: Double, top: Double, width: Double, height: Double
        var xMin: Double, xMax: Double, yMin: Double, yMax: Double
        var logY: Bool
        var right: Double { left + width }
        var bottom: Double { top + height }
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * width }
        func py(_ y: Double) -> Double {
            if logY { return bottom - (log10(y) - log10(yMin)) / (log10(yMax) - log10(yMin)) * height }
            return bottom - (y - yMin) / (yMax - yMin) * height
        }
    }

    func draw() {
        let width = Double(plot.width), height = Double(plot.height)
        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_paint(cr)
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)

        let lines = prepareLines()
        let allPoints = lines.flatMap { $0.runs.flatMap { $0 } }

        // Vertical layout: title on top; tick labels and the x label at the bottom.
        let titleHeight = plot.title.isEmpty ? 0 : lineHeight(size: titleSize, bold: true)
        let labelHeight = lineHeight(size: labelSize)
        let tickHeight = lineHeight(size: tickSize)
        let top = outerMargin + (plot.title.isEmpty ? 6 : titleHeight + gap + 2)
        let bottomMargin = outerMargin + tickLength + 3 + tickHeight + (plot.xLabel.isEmpty ? 0 : gap + labelHeight)
        let plotHeight = height - top - bottomMargin

        // y ticks depend only on the height; their labels' widths give the left margin.
        let (yMin, yMax, yTicks, yStep) = yAxis(points: allPoints, plotHeight: plotHeight)
        let yLabels = yTicks.map { plot.logScaleY ? LinePlot.logTickLabel($0) : LinePlot.tickLabel($0, step: yStep) }
        let yLabelWidth = yLabels.map { textWidth($0, size: tickSize) }.max() ?? 0
        let left = outerMargin + (plot.yLabel.isEmpty ? 0 : labelHeight + gap) + yLabelWidth + 4 + tickLength

        // x ticks: fewer until their labels do not crowd each other.
        var xTarget = Swift.max(2, Int((width - left - 30) / 80))
        var xAxisInfo = xAxis(points: allPoints, target: xTarget)
        var xLabels = xAxisInfo.ticks.map { LinePlot.tickLabel($0, step: xAxisInfo.step) }
        while xTarget > 2 {
            let widest = xLabels.map { textWidth($0, size: tickSize) }.max() ?? 0
            let spacing = (width - left - 30) / Double(Swift.max(1, xAxisInfo.ticks.count - 1))
            if widest + 12 <= spacing { break }
            xTarget -= 1
            xAxisInfo = xAxis(points: allPoints, target: xTarget)
            xLabels = xAxisInfo.ticks.map { LinePlot.tickLabel($0, step: xAxisInfo.step) }
        }
        let lastLabelHalf = (xLabels.last.map { textWidth($0, size: tickSize) } ?? 0) / 2
        let right = Swift.max(outerMargin + 12, lastLabelHalf + outerMargin)
        let frame = Frame(left: left.rounded(), top: top.rounded(), width: (width - left - right).rounded(),
                          height: plotHeight.rounded(), xMin: xAxisInfo.min, xMax: xAxisInfo.max,
                          yMin: yMin, yMax: yMax, logY: plot.logScaleY)

        drawGridAndAxes(frame: frame, xTicks: xAxisInfo.ticks, xLabels: xLabels, yTicks: yTicks, yLabels: yLabels)
        drawLines(lines, frame: frame)
        if allPoints.isEmpty {
            cairo_set_source_rgb(cr, 0.45, 0.45, 0.45)
            drawText("no data", size: labelSize, x: frame.left + frame.width / 2, y: frame.top + frame.height / 2,
                     alignX: 0.5, alignY: 0.5)
        }
        if !lines.isEmpty { drawLegend(lines, frame: frame) }

        // Title and axis labels.
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
        if !plot.title.isEmpty {
            drawText(plot.title, size: titleSize, bold: true, x: frame.left + frame.width / 2,
                     y: outerMargin, alignX: 0.5, alignY: 0)
        }
        if !plot.xLabel.isEmpty {
            drawText(plot.xLabel, size: labelSize, x: frame.left + frame.width / 2, y: height - outerMargin,
                     alignX: 0.5, alignY: 1)
        }
        if !plot.yLabel.isEmpty {
            cairo_save(cr)
            cairo_translate(cr, outerMargin, frame.top + frame.height / 2)
            cairo_rotate(cr, -Double.pi / 2)
            drawText(plot.yLabel, size: labelSize, x: 0, y: 0, alignX: 0.5, alignY: 0)
            cairo_restore(cr)
        }
    }

    /// Finite (and, for a log axis, positive) points, split where a point is skipped.
    func prepareLines() -> [Line] {
        plot.series.enumerated().map { index, series in
            var runs: [[(x: Double, y: Double)]] = []
            var current: [(x: Double, y: Double)] = []
            for point in series.points {
                if point.x.isFinite && point.y.isFinite && (!plot.logScaleY || point.y > 0) {
                    current.append(point)
                } else if !current.isEmpty {
                    runs.append(current)
                    current = []
                }
            }
            if !current.isEmpty { runs.append(current) }
            let color = series.color ?? LinePlot.Color.palette[index % LinePlot.Color.palette.count]
            return Line(label: series.label, runs: runs, color: color)
        }
    }

    /// The axis range: the outer ticks, widened by 3 % of the span on a side where the data comes
    /// within 1 % of it, so that no line runs along the frame.
    static func axisRange(ticks: [Double], dataMin: Double?, dataMax: Double?) -> (Double, Double) {
        var low = ticks.first!, high = ticks.last!
        let span = high - low
        if let dataMin, dataMin < low + 0.01 * span { low = Swift.min(low, dataMin) - 0.03 * span }
        if let dataMax, dataMax > high - 0.01 * span { high = Swift.max(high, dataMax) + 0.03 * span }
        return (low, high)
    }

    func yAxis(points: [(x: Double, y: Double)], plotHeight: Double) -> (Double, Double, [Double], Double) {
        let target = Swift.max(3, Swift.min(8, Int(plotHeight / 60)))
        let ys = points.map(\.y)
        if plot.logScaleY {
            let ticks = LinePlot.logTicks(lower: ys.min() ?? 0.1, upper: ys.max() ?? 1, targetCount: target)
            let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
            // Widen in log space.
            let (low, high) = Renderer.axisRange(ticks: ticks.map(log10), dataMin: ys.min().map(log10),
                                                 dataMax: ys.max().map(log10))
            return (pow(10, low), pow(10, high), ticks, step)
        }
        let ticks = LinePlot.niceTicks(lower: ys.min() ?? 0, upper: ys.max() ?? 1, targetCount: target)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        let (low, high) = Renderer.axisRange(ticks: ticks, dataMin: ys.min(), dataMax: ys.max())
        return (low, high, ticks, step)
    }

    func xAxis(points: [(x: Double, y: Double)], target: Int) -> (min: Double, max: Double, ticks: [Double], step: Double) {
        let xs = points.map(\.x)
        // Whole numbers (epochs, iterations) get whole ticks.
        let integral = !xs.isEmpty && xs.allSatisfy { $0 == $0.rounded() }
        let ticks = LinePlot.niceTicks(lower: xs.min() ?? 0, upper: xs.max() ?? 1, targetCount: target,
                                       minimumStep: integral ? 1 : 0)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        let (low, high) = Renderer.axisRange(ticks: ticks, dataMin: xs.min(), dataMax: xs.max())
        return (low, high, ticks, step)
    }

    func drawGridAndAxes(frame: Frame, xTicks: [Double], xLabels: [String], yTicks: [Double], yLabels: [String]) {
        cairo_set_line_width(cr, 1)
        if plot.showsGrid {
            cairo_set_source_rgb(cr, 0.87, 0.87, 0.87)
            for tick in xTicks {
                let x = frame.px(tick).rounded() + 0.5
                cairo_move_to(cr, x, frame.top)
                cairo_line_to(cr, x, frame.bottom)
            }
            for tick in yTicks {
                let y = frame.py(tick).rounded() + 0.5
                cairo_move_to(cr, frame.left, y)
                cairo_line_to(cr, frame.right, y)
            }
            cairo_stroke(cr)
        }
        // Frame and tick marks.
        cairo_set_source_rgb(cr, 0.25, 0.25, 0.25)
        cairo_rectangle(cr, frame.left + 0.5, frame.top + 0.5, frame.width, frame.height)
        for tick in xTicks {
            let x = frame.px(tick).rounded() + 0.5
            cairo_move_to(cr, x, frame.bottom + 0.5)
            cairo_line_to(cr, x, frame.bottom + 0.5 + tickLength)
        }
        for tick in yTicks {
            let y = frame.py(tick).rounded() + 0.5
            cairo_move_to(cr, frame.left + 0.5, y)
            cairo_line_to(cr, frame.left + 0.5 - tickLength, y)
        }
        cairo_stroke(cr)
        // Tick labels.
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15)
        for (tick, label) in zip(xTicks, xLabels) {
            drawText(label, size: tickSize, x: frame.px(tick), y: frame.bottom + tickLength + 3, alignX: 0.5, alignY: 0)
        }
        for (tick, label) in zip(yTicks, yLabels) {
            drawText(label, size: tickSize, x: frame.left - tickLength - 4, y: frame.py(tick), alignX: 1, alignY: 0.5)
        }
    }

    func drawLines(_ lines: [Line], frame: Frame) {
        let markers = plot.showsMarkers ?? (lines.allSatisfy { $0.pointCount <= 60 })
        cairo_save(cr)
        cairo_rectangle(cr, frame.left + 1, frame.top + 1, frame.width - 1, frame.height - 1)
        cairo_clip(cr)
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND)
        cairo_set_line_width(cr, 2)
        for line in lines {
            cairo_set_source_rgb(cr, line.color.red, line.color.green, line.color.blue)
            for run in line.runs {
                for (index, point) in run.enumerated() {
                    let x = frame.px(point.x), y = frame.py(point.y)
                    if index == 0 { cairo_move_to(cr, x, y) } else { cairo_line_to(cr, x, y) }
                }
                if run.count == 1 { cairo_rel_line_to(cr, 0, 0) }  // a lone point still shows (round cap)
                cairo_stroke(cr)
                if markers {
                    for point in run {
                        cairo_new_sub_path(cr)
                        cairo_arc(cr, frame.px(point.x), frame.py(point.y), 3, 0, 2 * Double.pi)
                    }
                    cairo_fill(cr)
                }
            }
        }
        cairo_restore(cr)
    }

    func drawLegend(_ lines: [Line], frame: Frame) {
        let rowHeight = lineHeight(size: legendSize) + 4
        let swatch = 22.0, padding = 7.0
        let textWidths = lines.map { textWidth($0.label, size: legendSize) }
        let boxWidth = padding * 2 + swatch + gap + (textWidths.max() ?? 0)
        let boxHeight = padding * 2 + rowHeight * Double(lines.count) - 4
        let inset = 8.0
        // Candidate corners: top right, top left, bottom right, bottom left; pick the one that
        // covers the fewest samples of the drawn lines.
        let candidates = [
            (frame.right - inset - boxWidth, frame.top + inset),
            (frame.left + inset, frame.top + inset),
            (frame.right - inset - boxWidth, frame.bottom - inset - boxHeight),
            (frame.left + inset, frame.bottom - inset - boxHeight),
        ]
        var samples: [(Double, Double)] = []
        for line in lines {
            for run in line.runs {
                for (a, b) in zip(run, run.dropFirst() + [run.last!]) {
                    let ax = frame.px(a.x), ay = frame.py(a.y), bx = frame.px(b.x), by = frame.py(b.y)
                    let steps = Swift.max(1, Int(Swift.max(Swift.abs(bx - ax), Swift.abs(by - ay)) / 4))
                    for s in 0..<steps {
                        let t = Double(s) / Double(steps)
                        samples.append((ax + (bx - ax) * t, ay + (by - ay) * t))
                    }
                }
            }
        }
        var best = candidates[0], bestCount = Int.max
        for candidate in candidates {
            let count = samples.reduce(0) { total, sample in
                let inside = sample.0 >= candidate.0 - 4 && sample.0 <= candidate.0 + boxWidth + 4
                    && sample.1 >= candidate.1 - 4 && sample.1 <= candidate.1 + boxHeight + 4
                return total + (inside ? 1 : 0)
            }
            if count < bestCount { best = candidate; bestCount = count }
        }
        let (x, y) = (best.0.rounded() + 0.5, best.1.rounded() + 0.5)
        cairo_rectangle(cr, x, y, boxWidth.rounded(), boxHeight.rounded())
        cairo_set_source_rgba(cr, 1, 1, 1, 0.9)
        cairo_fill_preserve(cr)
        cairo_set_source_rgb(cr, 0.6, 0.6, 0.6)
        cairo_set_line_width(cr, 1)
        cairo_stroke(cr)
        for (index, line) in lines.enumerated() {
            let rowCenter = y + padding + rowHeight * Double(index) + (rowHeight - 4) / 2
            cairo_set_source_rgb(cr, line.color.red, line.color.green, line.color.blue)
            cairo_set_line_width(cr, 2.5)
            cairo_move_to(cr, x + padding, rowCenter)
            cairo_line_to(cr, x + padding + swatch, rowCenter)
            cairo_stroke(cr)
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
            drawText(line.label, size: legendSize, x: x + padding + swatch + gap, y: rowCenter, alignX: 0, alignY: 0.5)
        }
    }

    // MARK: Text

    func setFont(size: Double, bold: Bool) {
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cr, size)
    }

    /// Ascent plus descent of the font at `size`.
    func lineHeight(size: Double, bold: Bool = false) -> Double {
        setFont(size: size, bold: bold)
        var extents = cairo_font_extents_t()
        cairo_font_extents(cr, &extents)
        return extents.ascent + extents.descent
    }

    func textWidth(_ text: String, size: Double, bold: Bool = false) -> Double {
        setFont(size: size, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, text, &extents)
        return extents.x_advance
    }

    /// Draws `text` so that the point (`x`, `y`) lies at fraction `alignX` of its width (0 left,
    /// 1 right) and `alignY` of its line height (0 top, 1 bottom).
    func drawText(_ text: String, size: Double, bold: Bool = false, x: Double, y: Double, alignX: Double, alignY: Double) {
        setFont(size: size, bold: bold)
        var font = cairo_font_extents_t()
        cairo_font_extents(cr, &font)
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, text, &extents)
        let height = font.ascent + font.descent
        let originX = x - extents.x_advance * alignX
        let baseline = y - height * alignY + font.ascent
        cairo_move_to(cr, originX.rounded(), baseline.rounded())
        cairo_show_text(cr, text)
        cairo_new_path(cr)
    }
}
