import ArgumentParser
import Kusari
import KusariOptim
import Testing
@testable import kusari

/// `--amp`, `--amp-dtype` and the loss-scale flags, parsed as `kusari train` and `kusari bench
/// train` parse them.
struct MixedPrecisionOptionsTests {
    private func parse(_ arguments: [String]) throws -> MixedPrecisionOptions {
        try MixedPrecisionOptions.parse(arguments)
    }

    @Test func withoutFlagsTrainingIsFloat32WithDefaultScaling() throws {
        let options = try parse([])
        #expect(try options.dtype() == nil)
        #expect(try options.lossScaling() == DynamicLossScaler.Settings())
    }

    @Test func ampMeansBFloat16AndFP16TakesTheLossScaleFlags() throws {
        #expect(try parse(["--amp"]).dtype() == .bfloat16)
        let options = try parse(["--amp", "--amp-dtype", "fp16", "--loss-scale", "1024",
                                 "--loss-scale-growth-interval", "50"])
        #expect(try options.dtype() == .float16)
        #expect(try options.lossScaling() == DynamicLossScaler.Settings(initialScale: 1024, growthInterval: 50))
    }

    @Test(arguments: [
        (["--amp-dtype", "fp16"], "--amp-dtype needs --amp"),
        (["--amp", "--amp-dtype", "fp8"], "unknown --amp-dtype 'fp8': use bf16 or fp16"),
        (["--amp", "--loss-scale", "1024"],
         "--loss-scale and --loss-scale-growth-interval need --amp --amp-dtype fp16 (bfloat16 needs no loss scaling)"),
        (["--loss-scale-growth-interval", "5"],
         "--loss-scale and --loss-scale-growth-interval need --amp --amp-dtype fp16 (bfloat16 needs no loss scaling)"),
        (["--amp", "--amp-dtype", "fp16", "--loss-scale", "0"], "the initial loss scale 0.0 must be finite and positive"),
        (["--amp", "--amp-dtype", "fp16", "--loss-scale-growth-interval", "0"], "the growth interval 0 must be positive"),
    ])
    func invalidFlagsAreRefusedWithTheReason(_ arguments: [String], _ message: String) {
        #expect {
            _ = try parse(arguments)
        } throws: { error in
            MixedPrecisionOptions.message(for: error) == message
        }
    }
}
