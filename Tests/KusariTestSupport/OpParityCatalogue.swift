import Kusari

/// Every op of the core as ``OpParityCase``s, for running on a device against the CPU: the
/// emulated GPU in the core tests, the real one in the CUDA tests. Each family is built fresh
/// on every call, so runs never share tensors.
public enum OpParityCatalogue {
    /// All cases, family by family.
    public static var all: [OpParityCase] {
        elementwise + reductions + products + convolutions + pooling + normalisation + activations + softmaxAndLosses
            + indexingAndJoining + memory + random
    }

    /// The case called `name`, if there is one.
    public static func named(_ name: String) -> OpParityCase? {
        all.first { $0.name == name }
    }

    /// Broadcast arithmetic, CPU scalars, maximum/minimum, powers, unary math, comparisons and
    /// `where`.
    public static var elementwise: [OpParityCase] {
        let a = parityTensor([2, 3, 4], seed: 1), b = parityTensor([3, 1], seed: 2)
        let c = parityTensor([4], seed: 3, low: 1, high: 2)
        let x = parityTensor([3, 5], seed: 4, low: 0.5, high: 2)
        let tiesA = halvesTensor([4, 3], seed: 5), tiesB = halvesTensor([3], seed: 6)
        let base = parityTensor([4, 3], seed: 7, low: 0.5, high: 2), exponent = parityTensor([4, 3], seed: 8)
        let positive = parityTensor([2, 6], seed: 9, low: 0.2, high: 3)
        let any = parityTensor([2, 6], seed: 10, low: -3, high: 3)
        let left = halvesTensor([3, 4], seed: 12), right = halvesTensor([4], seed: 13)
        let comparisons: [(String, (Tensor, Tensor) -> Tensor)] = [
            ("equal", { $0.equal($1) }), ("notEqual", { $0.notEqual($1) }), ("greater", { $0.greater($1) }),
            ("greaterEqual", { $0.greaterEqual($1) }), ("less", { $0.less($1) }), ("lessEqual", { $0.lessEqual($1) }),
        ]
        return [
            OpParityCase("broadcast arithmetic", calls: ["binary"], .elementwise, inputs: [a, b, c]) { t in
                (t[0] + t[1]) * t[2] - t[0] / (t[2] + t[1])
            },
            OpParityCase("arithmetic with CPU scalars", calls: ["binary"], .elementwise, inputs: [x]) { t in
                (t[0] * 0.5 + 2) - 1 / t[0] + (3 - t[0]) / 4 - -t[0]
            },
            OpParityCase("maximum and minimum with ties", calls: ["binary"], .elementwise,
                         inputs: [tiesA, tiesB]) { t in
                t[0].maximum(t[1]) * 2 + t[0].minimum(t[1])
            },
            OpParityCase("tensor and scalar powers", calls: ["binary"], .elementwise, inputs: [base, exponent]) { t in
                t[0].pow(t[1]) + t[0].pow(3) + t[0].pow(2)
            },
            OpParityCase("log and sqrt", calls: ["unary"], .elementwise, inputs: [positive]) { t in
                t[0].log() + t[0].sqrt()
            },
            OpParityCase("exp, abs, sign, sin, cos, tanh, sigmoid and softplus", calls: ["unary"], .elementwise,
                         inputs: [any]) { t in
                t[0].exp() + t[0].abs() + t[0].sign() + t[0].sin() * t[0].cos() + t[0].tanh() + t[0].sigmoid()
                    + t[0].softplus()
            },
            OpParityCase("clamp and square", calls: ["binary"], .elementwise, inputs: [any]) { t in
                t[0].clamp(min: -1, max: 0.5) + t[0].square()
            },
            OpParityCase("exp of a transposed view", calls: ["copy", "unary"], .elementwise,
                         inputs: [parityTensor([3, 4], seed: 11)]) { t in
                t[0].transpose().exp()
            },
        ] + comparisons.map { name, compare in
            OpParityCase("broadcast \(name)", calls: ["binary"], .exact, inputs: [left, right]) { t in
                compare(t[0], t[1])
            }
        } + [
            OpParityCase("comparisons with CPU scalars", calls: ["binary"], .exact, inputs: [left]) { t in
                t[0].greater(0.5).to(.float32) + t[0].less(0).to(.float32)
            },
            OpParityCase("where", calls: ["binary"], .elementwise, inputs: [left, right]) { t in
                Tensor.where(t[0].greater(t[1]), t[0], t[1] * 2)
            },
        ]
    }

    /// Sums, means, maxima, minima and their positions, over some or all axes.
    public static var reductions: [OpParityCase] {
        let x = parityTensor([2, 3, 4, 5], seed: 14)
        let y = parityTensor([3, 4, 5], seed: 15), ties = halvesTensor([4, 6], seed: 16)
        return [
            OpParityCase("sum over axes 0 and 2", calls: ["reduce"], .accumulated, inputs: [x]) { t in
                t[0].sum(axes: [0, 2])
            },
            OpParityCase("mean over axis 1, dims kept", calls: ["reduce"], .accumulated, inputs: [x]) { t in
                t[0].mean(axis: 1, keepDims: true)
            },
            OpParityCase("sum and mean of everything", calls: ["reduce"], .accumulated, inputs: [x]) { t in
                t[0].sum() + t[0].mean()
            },
            OpParityCase("sum over axes 1 and 3, dims kept", calls: ["reduce"], .accumulated, inputs: [x]) { t in
                t[0].sum(axes: [1, 3], keepDims: true)
            },
            OpParityCase("max over two axes", calls: ["reduce"], .accumulated, inputs: [y]) { t in
                t[0].max(axes: [0, 2]) + t[0].max(axes: [1, 2]).sum()
            },
            OpParityCase("min over axis 0, dims kept", calls: ["reduce"], .accumulated, inputs: [y]) { t in
                t[0].min(axis: 0, keepDims: true)
            },
            OpParityCase("max and min with ties", calls: ["reduce"], .accumulated, inputs: [ties]) { t in
                t[0].max(axis: 1) - t[0].min(axis: 0).sum()
            },
            OpParityCase("argmax", calls: ["reduce"], .exact, inputs: [y]) { t in t[0].argmax(axis: 1) },
            OpParityCase("argmin with ties, dims kept", calls: ["reduce"], .exact, inputs: [ties]) { t in
                t[0].argmin(axis: -1, keepDims: true)
            },
        ]
    }

    /// Matrix, matrix-vector and batched products, and linear layers.
    public static var products: [OpParityCase] {
        let a = parityTensor([3, 4], seed: 17), b = parityTensor([4, 5], seed: 18), v = parityTensor([4], seed: 19)
        let batch = parityTensor([2, 3, 4], seed: 20), matrix = parityTensor([4, 5], seed: 21)
        let c = parityTensor([2, 1, 3, 4], seed: 22), d = parityTensor([3, 4, 2], seed: 23)
        let x = parityTensor([2, 3, 4], seed: 24), weight = parityTensor([5, 4], seed: 25)
        let bias = parityTensor([5], seed: 26)
        return [
            OpParityCase("matmul", calls: ["matmul"], .accumulated, inputs: [a, b]) { t in t[0].matmul(t[1]) },
            OpParityCase("matmul of transposed views", calls: ["matmul"], .accumulated, inputs: [a, b]) { t in
                t[1].transpose().matmul(t[0].transpose())
            },
            OpParityCase("matrix-vector product", calls: ["matmul"], .accumulated, inputs: [a, v]) { t in
                t[0].matmul(t[1])
            },
            OpParityCase("batched matmul with a shared matrix", calls: ["matmul"], .accumulated,
                         inputs: [batch, matrix]) { t in
                t[0].matmul(t[1])
            },
            OpParityCase("batched matmul with broadcast batches", calls: ["matmul"], .accumulated,
                         inputs: [c, d]) { t in
                t[0].matmul(t[1])
            },
            OpParityCase("linear with bias", calls: ["matmul", "copy"], .accumulated, inputs: [x, weight, bias]) { t in
                linear(t[0], t[1], bias: t[2])
            },
            OpParityCase("linear without bias", calls: ["matmul"], .accumulated, inputs: [x, weight]) { t in
                linear(t[0], t[1])
            },
        ]
    }
}
