import ArgumentParser
import Kusari
import KusariOptim

/// `--amp [--amp-dtype bf16|fp16 [--loss-scale S] [--loss-scale-growth-interval N]]`, shared by
/// `kusari train` and `kusari bench train`.
struct MixedPrecisionOptions: ParsableArguments {
    @Flag(help: "Mixed precision: convolutions and matrix products in 16-bit floats (autocast); weights, gradients and the other ops stay float32.")
    var amp = false
    @Option(name: .customLong("amp-dtype"),
            help: "With --amp: bf16 (bfloat16, the default) or fp16 (float16, with dynamic loss scaling).")
    var ampDtype: String?
    @Option(name: .customLong("loss-scale"),
            help: "With --amp-dtype fp16: the initial loss scale (default 65536, as PyTorch's GradScaler).")
    var initialLossScale: Float?
    @Option(name: .customLong("loss-scale-growth-interval"),
            help: "With --amp-dtype fp16: finite steps in a row after which the loss scale doubles (default 2000).")
    var lossScaleGrowthInterval: Int?

    /// The autocast dtype the flags ask for, or `nil` without `--amp`.
    /// - Throws: `ValidationError` for `--amp-dtype` without `--amp` or an unknown dtype name.
    func dtype() throws -> DType? {
        guard amp else {
            if ampDtype != nil { throw ValidationError("--amp-dtype needs --amp") }
            return nil
        }
        switch ampDtype ?? "bf16" {
        case "bf16", "bfloat16": return .bfloat16
        case "fp16", "float16": return .float16
        case let other: throw ValidationError("unknown --amp-dtype '\(other)': use bf16 or fp16")
        }
    }

    /// The loss scaler's settings the flags ask for (PyTorch's defaults for those not given).
    /// - Throws: `ValidationError` for a loss-scale flag without `--amp-dtype fp16`, or a scale
    ///   or interval a scaler cannot start from.
    func lossScaling() throws -> DynamicLossScaler.Settings {
        var settings = DynamicLossScaler.Settings()
        guard initialLossScale != nil || lossScaleGrowthInterval != nil else { return settings }
        guard try dtype() == .float16 else {
            throw ValidationError("--loss-scale and --loss-scale-growth-interval need --amp --amp-dtype fp16 "
                                  + "(bfloat16 needs no loss scaling)")
        }
        if let initialLossScale { settings.initialScale = initialLossScale }
        if let lossScaleGrowthInterval { settings.growthInterval = lossScaleGrowthInterval }
        if let problem = settings.problems.first { throw ValidationError(problem) }
        return settings
    }

    /// Checks the flags when the command line is parsed.
    func validate() throws {
        _ = try dtype()
        _ = try lossScaling()
    }

    /// How `--json` output names the dtype: `"bf16"` or `"fp16"` (`false` without `--amp`, as
    /// `Benchmarks/pytorch/bench_train.py` prints it).
    static func jsonName(_ dtype: DType?) -> Any {
        switch dtype {
        case .float16: return "fp16"
        case .bfloat16: return "bf16"
        default: return false
        }
    }
}
