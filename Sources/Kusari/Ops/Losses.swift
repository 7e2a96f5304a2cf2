import Foundation

/// How a loss combines per-element values.
public enum Reduction: Sendable {
    /// Mean over the counted elements.
    case mean
    /// Sum over the elements.
    case sum
    /// One value per element.
    case none
}

/// Softmax cross-entropy between `logits` and integer class `labels`, computed with
/// log-sum-exp so it never overflows (one-hot float targets gave the Theano seed NaNs).
///
/// - Parameters:
///   - logits: `[N, C]`, or `[N, C, H, W]` for per-pixel classification (segmentation).
///   - labels: `int32`/`int64` of shape `[N]` or `[N, H, W]`; entries equal to `ignoreIndex`
///     contribute nothing and are not counted in the mean.
public func softmaxCrossEntropy(_ logits: Tensor, _ labels: Tensor, ignoreIndex: Int = -1,
                                reduction: Reduction = .mean) -> Tensor {
    if let operations = DeviceDispatch.operations("softmaxCrossEntropy", [logits, labels]) {
        return softmaxCrossEntropy(on: operations, logits, labels, ignoreIndex: ignoreIndex, reduction: reduction)
    }
    let (rows, classes, flatLogits) = classScores(logits)
    let targets = classLabels(labels, expected: rows, logitsShape: logits.shape)
    let x = flatLogits.floats
    var losses = [Float](repeating: 0, count: rows)
    let gradient = Tensor(uninitializedShape: [rows, classes])
    let g = gradient.floats
    losses.withUnsafeMutableBufferPointer { loss in
        Threading.parallelFor(rows, grain: Swift.max(1, 4096 / Swift.max(classes, 1))) { start, end in
            for r in start..<end {
                let row = x + r * classes, gradRow = g + r * classes
                let label = targets[r]
                if label == ignoreIndex {
                    loss[r] = 0
                    gradRow.update(repeating: 0, count: classes)
                    continue
                }
                precondition(label >= 0 && label < classes,
                             "Kusari: softmaxCrossEntropy label \(label) at row \(r) is outside 0..<\(classes)")
                var peak = -Float.infinity
                for c in 0..<classes { peak = Swift.max(peak, row[c]) }
                var total: Float = 0
                for c in 0..<classes { let e = Foundation.exp(row[c] - peak); gradRow[c] = e; total += e }
                let logTotal = Foundation.log(total)
                loss[r] = logTotal + peak - row[label]
                let inverse = 1 / total
                for c in 0..<classes { gradRow[c] *= inverse }
                gradRow[label] -= 1
            }
        }
    }
    let counted = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
    let result: Tensor
    var scale: Float = 1
    switch reduction {
    case .none:
        result = Tensor(losses, shape: labels.shape)
    case .sum:
        result = Tensor(scalar: losses.reduce(0, +))
    case .mean:
        scale = 1 / Float(Swift.max(counted, 1))
        result = Tensor(scalar: losses.reduce(0, +) * scale)
    }
    let logitsShape = logits.shape
    return Tensor.record("softmaxCrossEntropy", result, inputs: [logits]) { grad in
        let weighted: Tensor
        if reduction == .none {
            weighted = gradient * grad.contiguous().reshape([rows, 1])
        } else {
            weighted = gradient * (grad.item() * scale)
        }
        return [unflattenClassScores(weighted, like: logitsShape)]
    }
}

/// ``softmaxCrossEntropy(_:_:ignoreIndex:reduction:)`` on a GPU: the backend gives per-row
/// losses and `softmax − onehot`; the mean's count of labelled rows is computed on the device
/// too, so no labels are copied back to the host.
private func softmaxCrossEntropy(on operations: any DeviceOperations, _ logits: Tensor, _ labels: Tensor,
                                 ignoreIndex: Int, reduction: Reduction) -> Tensor {
    let (rows, _, flatLogits) = classScores(logits)
    require(labels.dtype == .int32 || labels.dtype == .int64, "labels must be int32 or int64, got \(labels.dtype)")
    require(labels.count == rows,
            "labels shape \(labels.shape) does not match logits \(logits.shape) (expected \(rows) labels)")
    let targets = labels.detach().contiguous().reshapeRaw([rows])
    let (losses, gradient) = DeviceDispatch.run("softmaxCrossEntropy") {
        try operations.softmaxCrossEntropy(logits: flatLogits, labels: targets, ignoreIndex: ignoreIndex)
    }
    let (result, scale): (Tensor, Tensor?) = withNoGrad {
        switch reduction {
        case .none: return (losses.reshape(labels.shape), nil)
        case .sum: return (losses.sum(), nil)
        case .mean:
            let counted = targets.to(.float32).notEqual(Tensor(scalar: Float(ignoreIndex))).to(.float32).sum()
            let scale = 1 / counted.maximum(Tensor(scalar: 1))
            return (losses.sum() * scale, scale)
        }
    }
    let logitsShape = logits.shape
    return Tensor.record("softmaxCrossEntropy", result, inputs: [logits]) { grad in
        let weighted: Tensor
        switch reduction {
        case .none: weighted = gradient * grad.contiguous().reshape([rows, 1])
        case .sum: weighted = gradient * grad
        case .mean: weighted = gradient * (grad * scale!)
        }
        return [unflattenClassScores(weighted, like: logitsShape)]
    }
}

/// Fraction of predictions (argmax over the class axis) equal to `labels`, skipping
/// `ignoreIndex` (pixel accuracy for segmentation).
public func accuracy(_ logits: Tensor, _ labels: Tensor, ignoreIndex: Int = -1) -> Float {
    let (rows, classes, flat) = classScores(logits)
    let targets = classLabels(labels, expected: rows, logitsShape: logits.shape)
    let predictions = flat.reshapeRaw([rows, classes]).argmax(axis: 1).toArray(of: Int64.self)
    var correct = 0, counted = 0
    for (prediction, label) in zip(predictions, targets) where label != ignoreIndex {
        counted += 1
        if Int(prediction) == label { correct += 1 }
    }
    return counted == 0 ? 0 : Float(correct) / Float(counted)
}

/// Mean squared error `(prediction - target)^2`.
public func mseLoss(_ prediction: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    require(prediction.shape == target.shape, "mseLoss shapes differ: \(prediction.shape) vs \(target.shape)")
    let squared = (prediction - target).square()
    return reduce(squared, reduction)
}

/// Binary cross-entropy on logits, `max(x, 0) - x * t + log(1 + exp(-|x|))`, stable for any `x`.
public func sigmoidBinaryCrossEntropy(logits: Tensor, targets: Tensor, reduction: Reduction = .mean) -> Tensor {
    require(logits.shape == targets.shape, "sigmoidBinaryCrossEntropy shapes differ: \(logits.shape) vs \(targets.shape)")
    let losses = logits.softplus() - logits * targets
    return reduce(losses, reduction)
}

private func reduce(_ losses: Tensor, _ reduction: Reduction) -> Tensor {
    switch reduction {
    case .mean: return losses.mean()
    case .sum: return losses.sum()
    case .none: return losses
    }
}

/// Logits as dense `[rows, classes]`, moving the class axis of `[N, C, ...]` last.
private func classScores(_ logits: Tensor) -> (rows: Int, classes: Int, dense: Tensor) {
    require(logits.dtype == .float32, "logits must be float32, got \(logits.dtype)")
    require(logits.rank >= 2, "logits must be [N, C] or [N, C, ...], got \(logits.shape)")
    let classes = logits.shape[1]
    let moved = logits.rank == 2 ? logits.detach() : logits.detach().permute([0] + Array(2..<logits.rank) + [1])
    let dense = moved.contiguous().reshapeRaw([-1, classes])
    return (dense.shape[0], classes, dense)
}

/// Inverse of ``classScores``: `[rows, classes]` back to the logits' layout.
private func unflattenClassScores(_ scores: Tensor, like shape: [Int]) -> Tensor {
    if shape.count == 2 { return scores }
    let moved = [shape[0]] + Array(shape[2...]) + [shape[1]]
    let rank = shape.count
    return scores.reshape(moved).permute([0, rank - 1] + Array(1..<(rank - 1))).contiguous()
}

private func classLabels(_ labels: Tensor, expected rows: Int, logitsShape: [Int]) -> [Int] {
    require(labels.dtype == .int32 || labels.dtype == .int64, "labels must be int32 or int64, got \(labels.dtype)")
    require(labels.count == rows,
            "labels shape \(labels.shape) does not match logits \(logitsShape) (expected \(rows) labels)")
    return labels.dtype == .int64 ? labels.toArray(of: Int64.self).map { Int($0) }
                                  : labels.toArray(of: Int32.self).map { Int($0) }
}

/// Skip-gram negative-sampling loss (word2vec): for each row `n`,
/// `-log σ(u_{target} · h_n) - Σ_k log σ(-u_{negative_k} · h_n)`, where `u` are rows of
/// `outputWeights`.
///
/// - Parameters:
///   - input: the input vectors `h`, `[N, D]`.
///   - targets: the observed context words, `[N]` (int32/int64).
///   - negatives: the sampled noise words, `[N, K]`.
///   - outputWeights: the output embedding table `[V, D]`.
///   - reduction: `.sum` by default, like Chainer's `F.negative_sampling`.
public func negativeSamplingLoss(_ input: Tensor, targets: Tensor, negatives: Tensor, outputWeights: Tensor,
                                 reduction: Reduction = .sum) -> Tensor {
    require(input.rank == 2 && outputWeights.rank == 2 && input.shape[1] == outputWeights.shape[1],
            "negativeSamplingLoss: input \(input.shape) and output weights \(outputWeights.shape) differ in width")
    require(targets.shape == [input.shape[0]] && negatives.rank == 2 && negatives.shape[0] == input.shape[0],
            "negativeSamplingLoss: targets \(targets.shape) / negatives \(negatives.shape) do not match \(input.shape[0]) rows")
    let samples = Tensor.concat([targets.to(.int64).unsqueeze(axis: 1), negatives.to(.int64)], axis: 1)
    let vectors = embedding(samples, outputWeights)                       // [N, 1 + K, D]
    let scores = (vectors * input.unsqueeze(axis: 1)).sum(axis: 2)        // [N, 1 + K]
    var signs = [Float](repeating: -1, count: samples.shape[1])
    signs[0] = 1
    // -log σ(s · score) = softplus(-s · score).
    let negatedSigns = Tensor.uninitialized([signs.count], on: input.device)
    negatedSigns.assign(Tensor(signs.map { -$0 }))
    let losses = (scores * negatedSigns).softplus().sum(axis: 1)
    return reduce(losses, reduction)
}
