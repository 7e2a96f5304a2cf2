/// Inverted dropout: in training, zeroes each element with probability `rate` and scales the
/// survivors by `1 / (1 - rate)`; otherwise returns the input unchanged.
///
/// The mask comes from `generator`'s counter-based stream, element by element in row-major
/// order, so it does not depend on the thread count, and a GPU draws the same mask.
public func dropout(_ input: Tensor, rate: Float, training: Bool, generator: Generator = .default) -> Tensor {
    require(rate >= 0 && rate < 1, "dropout rate must be in [0, 1), got \(rate)")
    guard training, rate > 0 else { return input }
    let keep = 1 - rate
    // The mask holds 0 or 1 / keep: one pass over the data to draw it, one to apply it (and one
    // for the gradient).
    let mask = Tensor.bernoulli(input.shape, probability: keep, value: 1 / keep, generator: generator, on: input.device)
    return input * mask
}
