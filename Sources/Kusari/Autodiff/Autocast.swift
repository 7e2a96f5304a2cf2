import Foundation

/// Automatic mixed precision (`torch.autocast`), per thread like ``GradMode``.
///
/// Inside ``run(_:_:)`` with `.float16` or `.bfloat16`, `conv2d` and `convTranspose2d` convert
/// their float32 input, weight and bias to that dtype, convolve in it (accumulating in float32)
/// and convert the output back to float32; `matmul` and `linear` convert their operands and
/// write a float32 product accumulated in float32. Gradients flow back through the conversions,
/// so float32 parameters get float32 gradients. All other ops are unaffected.
public enum Autocast {
    private static let key = "kusari.autocast.dtype"

    /// The reduced precision in effect on this thread (`.float16` or `.bfloat16`), or `nil`.
    public static var dtype: DType? {
        (Thread.current.threadDictionary[key] as? String).flatMap(DType.init(rawValue:))
    }

    /// Runs `body` with autocast to `dtype` on this thread (`nil` turns autocast off inside),
    /// restoring the previous setting afterwards; calls nest.
    /// - Precondition: `dtype` is `nil`, `.float16` or `.bfloat16`.
    @discardableResult
    public static func run<R>(_ dtype: DType?, _ body: () throws -> R) rethrows -> R {
        require(dtype == nil || dtype == .float16 || dtype == .bfloat16,
                "Autocast.run: autocast needs float16 or bfloat16, got \(dtype.map { "\($0)" } ?? "nil")")
        let dictionary = Thread.current.threadDictionary
        let previous = dictionary[key]
        dictionary[key] = dtype?.rawValue
        defer { dictionary[key] = previous }
        return try body()
    }

    /// The dtype an autocast op converts its float32 operands to on this thread, or `nil` when
    /// autocast is off or an operand is not float32 (then the op runs as usual).
    static func castDType(_ operands: [Tensor]) -> DType? {
        guard let dtype, operands.allSatisfy({ $0.dtype == .float32 }) else { return nil }
        return dtype
    }
}
