import ArgumentParser
import Kusari

/// `--amp [--amp-dtype bf16|fp16]`, shared by `kusari train` and `kusari bench train`.
struct MixedPrecisionOptions: ParsableArguments {
    @Flag(help: "Mixed precision: convolutions and matrix products in 16-bit floats (autocast); weights, gradients and the other ops stay float32.")
    var amp = false
    @Option(name: .customLong("amp-dtype"),
            help: "With --amp: bf16 (bfloat16, the default) or fp16 (float16, with dynamic loss scaling).")
    var ampDtype: String?

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

    /// Checks the flags when the command line is parsed.
    func validate() throws {
        _ = try dtype()
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
