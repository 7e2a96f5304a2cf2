import ArgumentParser

/// The `kusari` command-line tool.
@main
struct KusariCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kusari",
        abstract: "Kusari: deep-learning training in Swift, on oneDNN (CPU) and cuDNN (GPU).",
        version: KusariVersion.string,
        subcommands: [TrainCommand.self, EvalCommand.self, PredictCommand.self, DataCommand.self, InfoCommand.self, BenchCommand.self]
    )
}

/// The tool's version.
enum KusariVersion {
    static let string = "0.1.0"
}
