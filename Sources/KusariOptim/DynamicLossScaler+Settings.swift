import Kusari

extension DynamicLossScaler {
    /// How a scaler starts and adapts (its arguments, without its state), to keep in a
    /// training run's options and build a fresh scaler from; PyTorch `GradScaler`'s defaults.
    public struct Settings: Sendable, Equatable {
        /// The first ``DynamicLossScaler/scale``: finite and positive.
        public var initialScale: Float
        /// See ``DynamicLossScaler/growthFactor``: finite and greater than 1.
        public var growthFactor: Float
        /// See ``DynamicLossScaler/backoffFactor``: strictly between 0 and 1.
        public var backoffFactor: Float
        /// See ``DynamicLossScaler/growthInterval``: positive.
        public var growthInterval: Int

        /// PyTorch's defaults, each overridable.
        public init(initialScale: Float = 65536, growthFactor: Float = 2, backoffFactor: Float = 0.5,
                    growthInterval: Int = 2000) {
            self.initialScale = initialScale
            self.growthFactor = growthFactor
            self.backoffFactor = backoffFactor
            self.growthInterval = growthInterval
        }

        /// What is wrong with these settings, one phrase each (empty when a scaler can be built).
        public var problems: [String] {
            var problems: [String] = []
            if !(initialScale.isFinite && initialScale > 0) {
                problems.append("the initial loss scale \(initialScale) must be finite and positive")
            }
            if !(growthFactor.isFinite && growthFactor > 1) {
                problems.append("the growth factor \(growthFactor) must be finite and greater than 1")
            }
            if !(backoffFactor > 0 && backoffFactor < 1) {
                problems.append("the backoff factor \(backoffFactor) must lie strictly between 0 and 1")
            }
            if growthInterval <= 0 { problems.append("the growth interval \(growthInterval) must be positive") }
            return problems
        }
    }

    /// A fresh scaler with `settings`.
    /// - Precondition: `settings.problems` is empty.
    public convenience init(_ settings: Settings) {
        self.init(initialScale: settings.initialScale, growthFactor: settings.growthFactor,
                  backoffFactor: settings.backoffFactor, growthInterval: settings.growthInterval)
    }

    /// The settings this scaler was built with.
    public var settings: Settings {
        Settings(initialScale: initialScale, growthFactor: growthFactor, backoffFactor: backoffFactor,
                 growthInterval: growthInterval)
    }
}
