import ArgumentParser
import Foundation
import Kusari
import KusariModels

/// `kusari bench`: throughput measurements.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure training throughput.", subcommands: [BenchTrainCommand.self])
}

/// `kusari bench train MODEL`: times SGD-with-momentum training steps on random data, in float32
/// or with `--amp`.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time training steps of a seed network on random data and print images/s.",
        discussion: "Models: \(BenchmarkModel.allCases.map(\.rawValue).joined(separator: ", ")).")

    @Argument(help: "The network to time.") var model: BenchmarkModel
    @Option(help: "Threads for oneDNN and Kusari's kernels (default: all cores).") var threads: Int?
    @Option(help: "Mini-batch size (default: the seed's).") var batch: Int?
    @Option(help: "Untimed warm-up steps.") var warmup = 3
    @Option(help: "Seconds to keep timing (at least 5 steps run).") var seconds: Double = 10
    @Option(help: "Device to run on: cpu, cuda (GPU 0) or cuda:N.") var device = "cpu"
    @Flag(help: "Use deterministic algorithms only.") var deterministic = false
    @Flag(help: "GPU only: let float32 products use TF32 tensor cores.") var tf32 = false
    @OptionGroup var mixedPrecision: MixedPrecisionOptions
    @Flag(help: "Print one JSON line instead of text.") var json = false

    func run() throws {
        let target = try parseDevice(device)
        try requireComputeDevice(target, deterministic: deterministic, allowsTF32: tf32)
        if let threads { Threading.threadCount = threads }
        let amp = try mixedPrecision.dtype()
        let result = try TrainingBenchmark(model: model, batchSize: batch ?? model.seedBatchSize, mixedPrecision: amp,
                                           lossScaling: mixedPrecision.lossScaling())
            .run(warmup: warmup, seconds: seconds, on: target)
        if OpProfiler.isEnabled { FileHandle.standardError.write(Data((OpProfiler.report() + "\n").utf8)) }
        if json {
            let fields: [String: Any] = [
                "framework": "kusari", "model": model.rawValue, "batch": result.batchSize,
                "threads": Threading.threadCount, "device": target.description, "parameters": result.parameters,
                "iterations": result.iterations, "seconds": result.seconds, "images_per_second": result.imagesPerSecond,
                "amp": MixedPrecisionOptions.jsonName(amp),
            ]
            let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(model.rawValue): batch \(result.batchSize), \(result.parameters) parameters, "
                  + "\(result.iterations) steps in \(String(format: "%.2f", result.seconds)) s → "
                  + "\(String(format: "%.1f", result.imagesPerSecond)) images/s "
                  + (target == .cpu ? "(\(Threading.threadCount) threads" : "(\(target)")
                  + (amp.map { ", AMP \($0))" } ?? ")"))
        }
    }
}

extension BenchmarkModel: ExpressibleByArgument {}
