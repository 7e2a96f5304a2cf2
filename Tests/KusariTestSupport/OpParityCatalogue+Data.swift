import Kusari

extension OpParityCatalogue {
    /// Embedding lookups, index selection, gather, scatter-add, concatenation, splitting and
    /// stacking.
    public static var indexingAndJoining: [OpParityCase] {
        let rowMethods = ["gatherRows", "scatterAddRows"]
        let table = parityTensor([7, 4], seed: 49), ids = Tensor([Int64(3), 0, 3, 6, 1, 3], shape: [2, 3])
        let x = parityTensor([3, 5, 2], seed: 50), picks = Tensor([Int32(4), 0, 4, 2]), rows = Tensor([Int64(2), 0, 2])
        let y = parityTensor([3, 4], seed: 51), indices = Tensor([Int64(0), 3, 3, 1, 2, 2], shape: [3, 2])
        let source = parityTensor([3, 2], seed: 52)
        let a = parityTensor([2, 3, 2], seed: 53), b = parityTensor([2, 1, 2], seed: 54)
        return [
            OpParityCase("embedding with repeated ids", calls: rowMethods, .elementwise, inputs: [ids, table]) { t in
                embedding(t[0], t[1])
            },
            OpParityCase("indexSelect on axis 1 with int32 indices", calls: rowMethods, .elementwise,
                         inputs: [x, picks]) { t in
                t[0].indexSelect(axis: 1, indices: t[1])
            },
            OpParityCase("indexSelect on axis 0 with int64 indices", calls: rowMethods, .elementwise,
                         inputs: [x, rows]) { t in
                t[0].indexSelect(axis: 0, indices: t[1])
            },
            OpParityCase("gather", calls: [], .elementwise, inputs: [y, indices]) { t in
                t[0].gather(axis: 1, indices: t[1])
            },
            OpParityCase("scatterAdd", calls: [], .elementwise, inputs: [y, indices, source]) { t in
                t[0].scatterAdd(axis: 1, indices: t[1], source: t[2])
            },
            OpParityCase("concat", calls: ["copy"], .exact, inputs: [a, b]) { t in
                Tensor.concat([t[0], t[1] * 2, t[0]], axis: 1)
            },
            OpParityCase("split and concat", calls: ["copy"], .exact, inputs: [a]) { t in
                let parts = t[0].split(sizes: [1, 2], axis: 1)
                return Tensor.concat([parts[1] * 3, parts[0]], axis: 1)
            },
            OpParityCase("stack on a new last axis", calls: ["copy"], .elementwise, inputs: [a, a]) { t in
                Tensor.stack([t[0], t[1].exp()], axis: 3)
            },
        ]
    }

    /// Fills, dtype conversions and assignment through a strided view.
    public static var memory: [OpParityCase] {
        let values = Tensor([Float(-1.5), 2.7, 0, 3.2])
        return [
            OpParityCase("full", calls: ["fill"], .exact) { t in Tensor.full([2, 3], 2.5, on: t.device) },
            OpParityCase("int32 ones", calls: ["fill"], .exact) { t in Tensor.ones([4], dtype: .int32, on: t.device) },
            OpParityCase("float32 to int64", calls: ["convert"], .exact, inputs: [values]) { t in t[0].to(.int64) },
            OpParityCase("float32 to int32 and back", calls: ["convert"], .exact, inputs: [values]) { t in
                t[0].to(.int32).to(.float32)
            },
            OpParityCase("assignment of a transposed view", calls: ["copy"], .exact, inputs: [values]) { t in
                let target = Tensor.zeros([2, 2], on: t.device)
                target.assign(t[0].reshape([2, 2]).transpose())
                return target
            },
        ]
    }

    /// Uniform, normal, Bernoulli and integer draws and dropout, from generators whose streams
    /// must match the CPU's and advance as far.
    public static var random: [OpParityCase] {
        let draws: [(String, OpParityPrecision, (Generator, Device) -> Tensor)] = [
            ("uniform draws", .exact, { Tensor.uniform([5, 7], low: -2, high: 3, generator: $0, on: $1) }),
            // A device's log and cos may round the Box–Muller transform differently from the host's.
            ("normal draws", .elementwise, { Tensor.normal([9], mean: 1, std: 0.5, generator: $0, on: $1) }),
            ("Bernoulli draws", .exact, { Tensor.bernoulli([3, 3], probability: 0.3, generator: $0, on: $1) }),
            ("Bernoulli draws of a value", .exact,
             { Tensor.bernoulli([5, 3], probability: 0.6, value: 1 / 0.6, generator: $0, on: $1) }),
            ("int64 randint", .exact, { Tensor.randint([11], low: -4, high: 9, generator: $0, on: $1) }),
            ("int32 randint", .exact, {
                Tensor.randint([6], low: 0, high: 100, dtype: .int32, generator: $0, on: $1)
            }),
        ]
        return draws.map { name, precision, draw in
            OpParityCase(name, calls: ["random"], precision) { t in draw(t.generator(seed: 77, offset: 5), t.device) }
        } + [
            OpParityCase("dropout", calls: ["random", "binary"], .elementwise,
                         inputs: [parityTensor([4, 6], seed: 55)]) { t in
                dropout(t[0], rate: 0.3, training: true, generator: t.generator(seed: 12))
            },
        ]
    }
}
