import Kusari
import KusariNN

// Convenience initialisers that train every parameter of a module, under the hierarchical names
// of `Module.namedParameters()` (so state-dict keys read `conv1.W/m`). Defaults match the
// designated initialisers'. The parameter list is taken once: parameters added to the module
// later, or unfrozen by setting `requiresGrad`, are not trained by an existing optimizer.

extension SGD {
    /// Trains the parameters of `module` with plain SGD; see
    /// ``SGD/init(parameters:learningRate:weightDecay:gradientClipping:)``.
    public convenience init(_ module: Module, learningRate: Float = 0.01, weightDecay: Float = 0,
                            gradientClipping: Float? = nil) {
        self.init(parameters: module.namedParameters(), learningRate: learningRate, weightDecay: weightDecay,
                  gradientClipping: gradientClipping)
    }
}

extension MomentumSGD {
    /// Trains the parameters of `module` with momentum SGD; see
    /// ``MomentumSGD/init(parameters:learningRate:momentum:nesterov:weightDecay:gradientClipping:)``.
    public convenience init(_ module: Module, learningRate: Float = 0.01, momentum: Float = 0.9,
                            nesterov: Bool = false, weightDecay: Float = 0, gradientClipping: Float? = nil) {
        self.init(parameters: module.namedParameters(), learningRate: learningRate, momentum: momentum,
                  nesterov: nesterov, weightDecay: weightDecay, gradientClipping: gradientClipping)
    }
}

extension Adam {
    /// Trains the parameters of `module` with Adam; see
    /// ``Adam/init(parameters:learningRate:beta1:beta2:eps:weightDecay:gradientClipping:)``.
    public convenience init(_ module: Module, learningRate: Float = 0.001, beta1: Float = 0.9,
                            beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0,
                            gradientClipping: Float? = nil) {
        self.init(parameters: module.namedParameters(), learningRate: learningRate, beta1: beta1, beta2: beta2,
                  eps: eps, weightDecay: weightDecay, gradientClipping: gradientClipping)
    }
}

extension AdamW {
    /// Trains the parameters of `module` with AdamW; see
    /// ``AdamW/init(parameters:learningRate:beta1:beta2:eps:weightDecay:gradientClipping:)``.
    public convenience init(_ module: Module, learningRate: Float = 0.001, beta1: Float = 0.9,
                            beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01,
                            gradientClipping: Float? = nil) {
        self.init(parameters: module.namedParameters(), learningRate: learningRate, beta1: beta1, beta2: beta2,
                  eps: eps, weightDecay: weightDecay, gradientClipping: gradientClipping)
    }
}

extension RMSprop {
    /// Trains the parameters of `module` with RMSprop; see
    /// ``RMSprop/init(parameters:learningRate:alpha:eps:weightDecay:gradientClipping:)``.
    public convenience init(_ module: Module, learningRate: Float = 0.01, alpha: Float = 0.99, eps: Float = 1e-8,
                            weightDecay: Float = 0, gradientClipping: Float? = nil) {
        self.init(parameters: module.namedParameters(), learningRate: learningRate, alpha: alpha, eps: eps,
                  weightDecay: weightDecay, gradientClipping: gradientClipping)
    }
}

extension AdaGrad {
    /// Trains the parameters of `module` with AdaGrad; see
    /// ``AdaGrad/init(parameters:learningRate:eps:weightDecay:gradientClipping:)``.
    public convenience init(_ module: Module, learningRate: Float = 0.001, eps: Float = 1e-8,
                            weightDecay: Float = 0, gradientClipping: Float? = nil) {
        self.init(parameters: module.namedParameters(), learningRate: learningRate, eps: eps,
                  weightDecay: weightDecay, gradientClipping: gradientClipping)
    }
}
