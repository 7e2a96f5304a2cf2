import Kusari

extension OpParityCatalogue {
    /// Grouped, strided, padded and dilated convolutions and transposed convolutions.
    public static var convolutions: [OpParityCase] {
        let methods = ["convolutionForward", "convolutionBackward"]
        let x = parityTensor([2, 4, 7, 6], seed: 27), weight = parityTensor([6, 2, 3, 3], seed: 28)
        let bias = parityTensor([6], seed: 29)
        let y = parityTensor([2, 4, 5, 5], seed: 30), transposedWeight = parityTensor([4, 3, 3, 3], seed: 31)
        let transposedBias = parityTensor([6], seed: 32), single = parityTensor([3, 2, 3, 3], seed: 33)
        return [
            OpParityCase("grouped strided padded dilated conv2d with bias", calls: methods, .accumulated,
                         inputs: [x, weight, bias]) { t in
                conv2d(t[0], t[1], bias: t[2], stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2)
            },
            OpParityCase("grouped padded conv2d", calls: methods, .accumulated, inputs: [x, weight]) { t in
                conv2d(t[0], t[1], padding: [1, 1], groups: 2)
            },
            OpParityCase("grouped strided padded convTranspose2d with bias and output size", calls: methods,
                         .accumulated, inputs: [y, transposedWeight, transposedBias]) { t in
                convTranspose2d(t[0], t[1], bias: t[2], stride: [2, 2], padding: [1, 1], outputSize: [10, 10],
                                groups: 2)
            },
            OpParityCase("strided convTranspose2d of a channel slice", calls: methods, .accumulated,
                         inputs: [y.slice(axis: 1, end: 3), single]) { t in
                convTranspose2d(t[0], t[1], stride: [1, 2])
            },
        ]
    }

    /// Max and average pooling (padded, ceil mode, with and without padding in the count) and
    /// their global forms.
    public static var pooling: [OpParityCase] {
        let methods = ["poolingForward", "poolingBackward"]
        let x = parityTensor([2, 3, 8, 7], seed: 34), y = parityTensor([2, 3, 7, 5], seed: 35)
        return [
            OpParityCase("max pool 3×3, stride 2, padded, ceil mode", calls: methods, .accumulated, inputs: [x]) { t in
                maxPool2d(t[0], kernelSize: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true)
            },
            OpParityCase("max pool 2×2", calls: methods, .accumulated, inputs: [x]) { t in
                maxPool2d(t[0], kernelSize: [2, 2])
            },
            OpParityCase("global max pool", calls: ["poolingForward"], .accumulated, inputs: [x]) { t in
                globalMaxPool2d(t[0])
            },
            OpParityCase("average pool 2×2, ceil mode", calls: methods, .accumulated, inputs: [y]) { t in
                avgPool2d(t[0], kernelSize: [2, 2], ceilMode: true)
            },
            OpParityCase("average pool 3×3, stride 2, padded", calls: methods, .accumulated, inputs: [y]) { t in
                avgPool2d(t[0], kernelSize: [3, 3], stride: [2, 2], padding: [1, 1])
            },
            OpParityCase("average pool 3×2, stride 2×1, padded, ceil mode, padding not counted", calls: methods,
                         .accumulated, inputs: [y]) { t in
                avgPool2d(t[0], kernelSize: [3, 2], stride: [2, 1], padding: [1, 1], ceilMode: true,
                          countIncludePad: false)
            },
            OpParityCase("global average pool", calls: ["poolingForward"], .accumulated, inputs: [y]) { t in
                globalAvgPool2d(t[0])
            },
        ]
    }

    /// Batch normalisation in training (with its running statistics) and evaluation, and local
    /// response normalisation.
    public static var normalisation: [OpParityCase] {
        let methods = ["batchNormForward", "batchNormBackward"]
        let training = [[4, 3, 5, 5], [6, 3]].flatMap { shape -> [OpParityCase] in
            let x = parityTensor(shape, seed: 36, low: -1, high: 3)
            let weight = parityTensor([3], seed: 37, low: 0.5, high: 1.5), bias = parityTensor([3], seed: 38)
            return [
                OpParityCase("batchNorm training on \(shape), running statistics updated", calls: methods, .accumulated,
                             inputs: [x, weight, bias]) { t in
                    let mean = Tensor.zeros([3], on: t.device), variance = Tensor.ones([3], on: t.device)
                    t.observe(mean)
                    t.observe(variance)
                    return batchNorm(t[0], weight: t[1], bias: t[2], runningMean: mean, runningVar: variance,
                                     training: true, momentum: 0.2)
                },
                OpParityCase("batchNorm training on \(shape), no affine or statistics", calls: methods, .accumulated,
                             inputs: [x]) { t in
                    batchNorm(t[0], weight: nil, bias: nil, runningMean: nil, runningVar: nil, training: true)
                },
            ]
        }
        let x = parityTensor([4, 3, 2, 2], seed: 39), weight = parityTensor([3], seed: 40, low: 0.5, high: 1.5)
        let bias = parityTensor([3], seed: 41), mean = parityTensor([3], seed: 42)
        let variance = parityTensor([3], seed: 43, low: 0.5, high: 2)
        // Without gradients the backend's forward runs; with them, the differentiable elementwise path.
        return training + [
            OpParityCase("batchNorm evaluation without gradients", calls: ["batchNormForward"], .accumulated,
                         inputs: [x, weight, bias, mean, variance]) { t in
                withNoGrad {
                    batchNorm(t[0], weight: t[1], bias: t[2], runningMean: t[3], runningVar: t[4], training: false)
                }
            },
            OpParityCase("batchNorm evaluation with gradients", calls: ["binary"], .accumulated,
                         inputs: [x, weight, bias, mean, variance]) { t in
                batchNorm(t[0], weight: t[1], bias: t[2], runningMean: t[3], runningVar: t[4], training: false)
            },
            OpParityCase("local response norm", calls: ["localResponseNormForward", "localResponseNormBackward"],
                         .accumulated, inputs: [parityTensor([2, 7, 3, 3], seed: 44)]) { t in
                localResponseNorm(t[0], size: 5, alpha: 1e-2, beta: 0.75, k: 2)
            },
        ]
    }

    /// ReLU, leaky ReLU, ELU and GELU.
    public static var activations: [OpParityCase] {
        let methods = ["activationForward", "activationBackward"]
        let x = parityTensor([3, 4, 5], seed: 45, low: -3, high: 3)
        return [
            OpParityCase("relu", calls: methods, .elementwise, inputs: [x]) { t in relu(t[0]) + t[0].relu() },
            OpParityCase("leaky relu", calls: methods, .elementwise, inputs: [x]) { t in leakyRelu(t[0], slope: 0.2) },
            OpParityCase("elu", calls: methods, .elementwise, inputs: [x]) { t in elu(t[0], alpha: 0.7) },
            OpParityCase("gelu", calls: methods, .elementwise, inputs: [x]) { t in gelu(t[0]) },
        ]
    }

    /// Softmax and log-softmax over inner, outer and last axes, and softmax cross-entropy with
    /// ignored rows and pixels under each reduction.
    public static var softmaxAndLosses: [OpParityCase] {
        let methods = ["softmaxForward", "softmaxBackward"]
        let x = parityTensor([2, 5, 3], seed: 46, low: -4, high: 4)
        let logits = parityTensor([6, 5], seed: 47, low: -3, high: 3), labels = Tensor([Int64(1), 4, -1, 0, 4, 2])
        let pixels = parityTensor([2, 3, 2, 2], seed: 48)
        let pixelLabels = Tensor([Int32(0), 2, 255, 1, 1, 255, 0, 2], shape: [2, 2, 2])
        return [
            OpParityCase("softmax over axis 1", calls: methods, .accumulated, inputs: [x]) { t in
                softmax(t[0], axis: 1)
            },
            OpParityCase("softmax over the last axis", calls: methods, .accumulated, inputs: [x]) { t in
                softmax(t[0])
            },
            OpParityCase("log-softmax over axis 1", calls: methods, .accumulated, inputs: [x]) { t in
                logSoftmax(t[0], axis: 1)
            },
            OpParityCase("log-softmax over axis 0", calls: methods, .accumulated, inputs: [x]) { t in
                logSoftmax(t[0], axis: 0)
            },
        ] + [(Reduction.mean, "mean"), (.sum, "sum"), (.none, "no")].map { reduction, name in
            OpParityCase("softmax cross-entropy with ignored rows, \(name) reduction", calls: ["softmaxCrossEntropy"],
                         .accumulated, inputs: [logits, labels]) { t in
                softmaxCrossEntropy(t[0], t[1], reduction: reduction)
            }
        } + [
            OpParityCase("softmax cross-entropy over pixels, 255 ignored", calls: ["softmaxCrossEntropy"], .accumulated,
                         inputs: [pixels, pixelLabels]) { t in
                softmaxCrossEntropy(t[0], t[1], ignoreIndex: 255)
            },
        ]
    }
}
