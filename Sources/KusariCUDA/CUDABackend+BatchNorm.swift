import Foundation
import Kusari

extension CUDABackend {
    /// Batch normalisation of `[N, C]` or `[N, C, H, W]` float32 `input` with cuDNN's spatial
    /// mode (`[N, C]` as `[N, C, 1, 1]`), without affine parameters when `weight` is `nil`.
    ///
    /// Training returns cuDNN's saved mean and inverse standard deviation (biased variance) and
    /// updates the running statistics in place as the CPU does: cuDNN's exponential average
    /// factor is `momentum` and it averages in the unbiased variance; a batch of one sample per
    /// channel (where the unbiased variance is undefined) adds its zero variance, as the CPU
    /// does. `eps` goes to cuDNN unchanged: since cuDNN 8 its minimum, `CUDNN_BN_MIN_EPSILON`, is 0.
    /// - Throws: ``Kusari/KusariError`` for bad shapes, an empty batch, only one of
    ///   `weight`/`bias`, or evaluation without running statistics; ``CUDAError`` when cuDNN fails.
    public func batchNormForward(input: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                                 training: Bool, momentum: Float, eps: Float) throws
        -> (output: Tensor, mean: Tensor?, inverseStd: Tensor?) {
        let problem = try BatchNormProblem(backend: self, shape: input.shape)
        for (role, tensor) in [("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVar", runningVar)] {
            if let tensor { try problem.expectChannels(tensor, role) }
        }
        guard (weight == nil) == (bias == nil) else {
            throw KusariError.invalidArgument("batchNorm needs both weight and bias, or neither")
        }
        let x = try packedFloat32(input, "batchNorm input")
        let scale = try weight.map { try packedFloat32($0, "batchNorm weight") } ?? constant(1, channels: problem.channels)
        let shift = try bias.map { try packedFloat32($0, "batchNorm bias") } ?? constant(0, channels: problem.channels)
        let output = try Tensor(uninitializedShape: input.shape, dtype: .float32, on: self)
        let cudnn = problem.handle.cudnn
        var one: Float = 1, zero: Float = 0
        guard training else {
            guard let runningMean, let runningVar else {
                throw KusariError.invalidArgument("batchNorm in evaluation mode needs running statistics")
            }
            let mean = try packedFloat32(runningMean, "batchNorm runningMean")
            let variance = try packedFloat32(runningVar, "batchNorm runningVar")
            try cudnn.check(cudnn.cudnnBatchNormalizationForwardInference(
                problem.handle.handle, CUDNN.BatchNormMode.spatial.rawValue, &one, &zero, problem.data.descriptor,
                Self.address(x), problem.data.descriptor, Self.address(output), problem.channel.descriptor,
                Self.address(scale), Self.address(shift), Self.address(mean), Self.address(variance), Double(eps)),
                "cudnnBatchNormalizationForwardInference(\(input.shape))")
            return (output, nil, nil)
        }
        let mean = try Tensor(uninitializedShape: [problem.channels], dtype: .float32, on: self)
        let inverseStd = try Tensor(uninitializedShape: [problem.channels], dtype: .float32, on: self)
        let averaged = problem.samples > 1 && (runningMean != nil || runningVar != nil)
        var averageMean: Tensor?, averageVar: Tensor?
        if averaged {
            // cuDNN updates both running statistics or neither: scratch stands in for a missing one.
            averageMean = try runningMean.map { try packedFloat32($0, "batchNorm runningMean") }
                ?? Tensor(uninitializedShape: [problem.channels], dtype: .float32, on: self)
            averageVar = try runningVar.map { try packedFloat32($0, "batchNorm runningVar") }
                ?? Tensor(uninitializedShape: [problem.channels], dtype: .float32, on: self)
        }
        try cudnn.check(cudnn.cudnnBatchNormalizationForwardTraining(
            problem.handle.handle, CUDNN.BatchNormMode.spatial.rawValue, &one, &zero, problem.data.descriptor,
            Self.address(x), problem.data.descriptor, Self.address(output), problem.channel.descriptor,
            Self.address(scale), Self.address(shift), Double(momentum), averageMean.map(Self.address) ?? 0,
            averageVar.map(Self.address) ?? 0, Double(eps), Self.address(mean), Self.address(inverseStd)),
            "cudnnBatchNormalizationForwardTraining(\(input.shape))")
        if averaged {
            // Strided running statistics were updated in a packed copy.
            if let runningMean, let averageMean, averageMean !== runningMean { try copy(averageMean, into: runningMean) }
            if let runningVar, let averageVar, averageVar !== runningVar { try copy(averageVar, into: runningVar) }
        } else {
            if let runningMean { try blend(runningMean, toward: mean, momentum: momentum) }
            if let runningVar { try blend(runningVar, toward: nil, momentum: momentum) }
        }
        return (output, mean, inverseStd)
    }

    /// Input, weight and bias gradients of training-mode batch normalisation with cuDNN, from the
    /// forward's saved `mean` and `inverseStd`; the last two `nil` without `weight`.
    /// - Throws: ``Kusari/KusariError`` for bad shapes; ``CUDAError`` when cuDNN fails.
    public func batchNormBackward(gradient: Tensor, input: Tensor, weight: Tensor?, mean: Tensor, inverseStd: Tensor,
                                  eps: Float) throws -> (input: Tensor, weight: Tensor?, bias: Tensor?) {
        let problem = try BatchNormProblem(backend: self, shape: input.shape)
        guard gradient.shape == input.shape else {
            throw KusariError.shapeMismatch("batchNorm gradient \(gradient.shape) differs from input \(input.shape)")
        }
        for (role, tensor) in [("weight", weight), ("mean", mean), ("inverseStd", inverseStd)] {
            if let tensor { try problem.expectChannels(tensor, role) }
        }
        let x = try packedFloat32(input, "batchNorm input"), dy = try packedFloat32(gradient, "batchNorm gradient")
        let saved = (try packedFloat32(mean, "batchNorm mean"), try packedFloat32(inverseStd, "batchNorm inverseStd"))
        let scale = try weight.map { try packedFloat32($0, "batchNorm weight") } ?? constant(1, channels: problem.channels)
        let dx = try Tensor(uninitializedShape: input.shape, dtype: .float32, on: self)
        let scaleGradient = try Tensor(uninitializedShape: [problem.channels], dtype: .float32, on: self)
        let shiftGradient = try Tensor(uninitializedShape: [problem.channels], dtype: .float32, on: self)
        let cudnn = problem.handle.cudnn
        var one: Float = 1, zero: Float = 0
        try cudnn.check(cudnn.cudnnBatchNormalizationBackward(
            problem.handle.handle, CUDNN.BatchNormMode.spatial.rawValue, &one, &zero, &one, &zero,
            problem.data.descriptor, Self.address(x), problem.data.descriptor, Self.address(dy), problem.data.descriptor,
            Self.address(dx), problem.channel.descriptor, Self.address(scale), Self.address(scaleGradient),
            Self.address(shiftGradient), Double(eps), Self.address(saved.0), Self.address(saved.1)),
            "cudnnBatchNormalizationBackward(\(input.shape))")
        return weight == nil ? (dx, nil, nil) : (dx, scaleGradient, shiftGradient)
    }

    /// `[channels]` filled with `value`.
    private func constant(_ value: Float, channels: Int) throws -> Tensor {
        let tensor = try Tensor(uninitializedShape: [channels], dtype: .float32, on: self)
        try fill(tensor, with: value)
        return tensor
    }

    /// `running = (1 - momentum) · running + momentum · batch` in place, with the CPU's
    /// rounding; a `nil` batch statistic is zero.
    private func blend(_ running: Tensor, toward batch: Tensor?, momentum: Float) throws {
        let values = try packedFloat32(running, "batchNorm running statistic")
        let count = values.count, address = Self.address(values)
        try context.launch(kernel("kusari_mul_scalar_f32", in: .elementwise), count: count,
                           arguments: [.pointer(address), .pointer(address), .count(count), .float(1 - momentum)])
        if let batch {
            let scaled = try Tensor(uninitializedShape: [count], dtype: .float32, on: self)
            try context.launch(kernel("kusari_mul_scalar_f32", in: .elementwise), count: count,
                               arguments: [.pointer(Self.address(batch)), .pointer(Self.address(scaled)), .count(count),
                                           .float(momentum)])
            try context.launch(kernel("kusari_add_f32", in: .elementwise), count: count,
                               arguments: [.pointer(address), .pointer(Self.address(scaled)), .pointer(address),
                                           .count(count)])
        }
        if values !== running { try copy(values, into: running) }
    }
}

/// The cuDNN handle and descriptors of one batch normalisation.
private struct BatchNormProblem {
    let handle: CUDNNHandle
    /// The data as `[N, C, H, W]` (`[N, C, 1, 1]` for `[N, C]`).
    let data: CUDNNTensorDescriptor
    /// `[1, C, 1, 1]`, for the per-channel tensors.
    let channel: CUDNNTensorDescriptor
    let channels: Int
    /// Values per channel, `N · H · W`.
    let samples: Int

    /// Checks the input `shape` and makes the descriptors.
    init(backend: CUDABackend, shape: [Int]) throws {
        guard shape.count == 2 || shape.count == 4 else {
            throw KusariError.invalidArgument("batchNorm expects [N, C] or [N, C, H, W], got \(shape)")
        }
        guard !shape.contains(0) else {
            throw KusariError.invalidArgument("batchNorm of an empty \(shape) batch")
        }
        channels = shape[1]
        samples = shape.reduce(1, *) / channels
        try backend.context.makeCurrent()
        handle = try backend.dnn()
        data = try CUDNNTensorDescriptor(handle.cudnn, shape: shape.count == 4 ? shape : shape + [1, 1])
        channel = try CUDNNTensorDescriptor(handle.cudnn, shape: [1, channels, 1, 1])
    }

    /// Throws unless `tensor` is a per-channel `[C]` tensor.
    func expectChannels(_ tensor: Tensor, _ role: String) throws {
        guard tensor.shape == [channels] else {
            throw KusariError.shapeMismatch("batchNorm \(role) must be [\(channels)], got \(tensor.shape)")
        }
    }
}
