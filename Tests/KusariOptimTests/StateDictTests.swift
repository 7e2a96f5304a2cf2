import Kusari
import KusariOptim
import Testing

struct StateDictTests {
    /// Two parameters shaped like a small layer's.
    func makeParameters(seed: UInt64 = 5) -> [(String, Tensor)] {
        [("l1.W", parameter(lcgValues(6, seed: seed), shape: [2, 3])),
         ("l1.b", parameter(lcgValues(2, seed: seed + 1)))]
    }

    /// Fresh copies of `parameters` (same names and values, separate storage).
    func copies(of parameters: [(String, Tensor)]) -> [(String, Tensor)] {
        parameters.map { ($0.0, parameter($0.1.scalars, shape: $0.1.shape)) }
    }

    /// Gives every parameter the gradient of step `step` (deterministic, different per step).
    func setGradients(_ parameters: [(String, Tensor)], step: Int) {
        for (index, (_, tensor)) in parameters.enumerated() {
            tensor.grad = Tensor(lcgValues(tensor.count, seed: UInt64(100 + 10 * step + index)), shape: tensor.shape)
        }
    }

    @Test func adamKeysAndValues() {
        let parameters = makeParameters()
        let optimizer = Adam(parameters: parameters, learningRate: 0.02, gradientClipping: 3)
        setGradients(parameters, step: 0)
        optimizer.step()
        let state = optimizer.stateDict()
        #expect(state.map { $0.0 } == ["step", "learningRate", "weightDecay", "gradientClipping", "beta1", "beta2",
                                        "eps", "l1.W/step", "l1.W/m", "l1.W/v", "l1.b/step", "l1.b/m", "l1.b/v"])
        let values = Dictionary(state, uniquingKeysWith: { first, _ in first })
        #expect(values["step"]?.dtype == .int64 && values["step"]?.toArray(of: Int64.self) == [1])
        #expect(values["l1.W/step"]?.toArray(of: Int64.self) == [1])
        #expect(values["learningRate"]?.item() == 0.02)
        #expect(values["gradientClipping"]?.item() == 3)
        #expect(values["beta2"]?.item() == 0.999)
        #expect(values["l1.W/m"]?.shape == [2, 3])
        // After one step m = (1 − β₁)·g and v = (1 − β₂)·g² (no clipping: the norm is below 3).
        let gradient = parameters[0].1.grad!.scalars
        expectClose(values["l1.W/m"]!.scalars, gradient.map { 0.1 * Double($0) })
        expectClose(values["l1.W/v"]!.scalars, gradient.map { 0.001 * Double($0) * Double($0) }, absolute: 1e-9,
                    relative: 1e-4) // 1 − β₂ in Float is 0.0010000467
    }

    @Test func optimizerSpecificKeys() {
        let p = [("w", parameter([1]))]
        func keys(_ optimizer: Optimizer) -> [String] { optimizer.stateDict().map { $0.0 }.filter { $0.hasPrefix("w/") || !$0.contains("/") } }
        let common = ["step", "learningRate", "weightDecay", "gradientClipping"]
        #expect(keys(SGD(parameters: p)) == common + ["w/step"])
        #expect(keys(MomentumSGD(parameters: p)) == common + ["momentum", "nesterov", "w/step", "w/v"])
        #expect(keys(RMSprop(parameters: p)) == common + ["alpha", "eps", "w/step", "w/ms"])
        #expect(keys(AdaGrad(parameters: p)) == common + ["eps", "w/step", "w/h"])
        #expect(keys(AdamW(parameters: p)) == common + ["beta1", "beta2", "eps", "w/step", "w/m", "w/v"])
        // No clipping is saved as +∞.
        let clipping = SGD(parameters: p).stateDict().first { $0.0 == "gradientClipping" }!.1
        #expect(clipping.item() == .infinity)
    }

    @Test func stateDictIsASnapshot() {
        let parameters = makeParameters()
        let optimizer = MomentumSGD(parameters: parameters, learningRate: 0.1)
        setGradients(parameters, step: 0)
        optimizer.step()
        let state = optimizer.stateDict()
        let velocity = state.first { $0.0 == "l1.W/v" }!.1
        let saved = velocity.scalars
        setGradients(parameters, step: 1)
        optimizer.step()
        #expect(velocity.scalars == saved)
        #expect(state.first { $0.0 == "step" }!.1.toArray(of: Int64.self) == [1])
    }

    /// Loading a state dict into a fresh optimizer (built with different hyper-parameters) makes
    /// it continue exactly like the original.
    @Test(arguments: OptimizerKind.allCases)
    func roundTripGivesIdenticalUpdates(kind: OptimizerKind) throws {
        let original = makeParameters()
        let optimizer = kind.make(original, learningRate: 0.05, weightDecay: 0.01, gradientClipping: 0.8)
        for step in 0..<2 {
            setGradients(original, step: step)
            optimizer.step()
        }
        let resumedParameters = copies(of: original)
        let resumed = kind.make(resumedParameters, learningRate: 0.5, weightDecay: 0.3)
        try resumed.loadStateDict(optimizer.stateDict())
        #expect(resumed.stepCount == 2)
        #expect(resumed.learningRate == 0.05 && resumed.weightDecay == 0.01 && resumed.gradientClipping == 0.8)
        // A fresh optimizer without the state takes a different path, so the comparison can fail.
        let freshParameters = copies(of: original)
        let fresh = kind.make(freshParameters, learningRate: 0.05, weightDecay: 0.01, gradientClipping: 0.8)
        for step in 2..<4 {
            for set in [original, resumedParameters, freshParameters] { setGradients(set, step: step) }
            optimizer.step()
            resumed.step()
            fresh.step()
        }
        for (a, b) in zip(original, resumedParameters) {
            #expect(a.1.scalars == b.1.scalars, "\(a.0)")
        }
        if kind != .sgd {
            #expect(original[0].1.scalars != freshParameters[0].1.scalars)
        }
    }

    @Test func roundTripThroughDictionaryRestoresHyperparameters() throws {
        let parameters = makeParameters()
        let optimizer = MomentumSGD(parameters: parameters, learningRate: 0.03, momentum: 0.7, nesterov: true)
        let restored = MomentumSGD(parameters: copies(of: parameters), learningRate: 1, momentum: 0.1)
        let dictionary = Dictionary(optimizer.stateDict(), uniquingKeysWith: { first, _ in first })
        try restored.loadStateDict(dictionary)
        #expect(restored.learningRate == 0.03 && restored.momentum == 0.7 && restored.nesterov)
        #expect(restored.gradientClipping == nil)
    }

    @Test func acceptsOneElementScalarsOfOtherDtypes() throws {
        let parameters = makeParameters()
        let optimizer = SGD(parameters: parameters)
        var state = optimizer.stateDict().map { key, value -> (String, Tensor) in
            key == "step" ? (key, Tensor([Int32(7)], shape: [1])) : (key, value)
        }
        state = state.map { key, value in key == "l1.b/step" ? (key, Tensor([Float(4)])) : (key, value) }
        state = state.map { key, value in key == "learningRate" ? (key, Tensor([Float(0.25)], shape: [1])) : (key, value) }
        try optimizer.loadStateDict(state)
        #expect(optimizer.stepCount == 7 && optimizer.learningRate == 0.25)
        #expect(optimizer.stateDict().first { $0.0 == "l1.b/step" }!.1.toArray(of: Int64.self) == [4])
    }

    @Test func reportsMissingUnexpectedAndMismatchedKeysAndLoadsNothing() {
        let parameters = makeParameters()
        let source = Adam(parameters: parameters, learningRate: 0.2)
        setGradients(parameters, step: 0)
        source.step()
        var state = source.stateDict().filter { $0.0 != "l1.W/v" && $0.0 != "beta1" }
        state.append(("l2.W/m", Tensor.zeros([3])))
        state = state.map { key, value in key == "l1.b/m" ? (key, Tensor.zeros([3])) : (key, value) }

        let target = Adam(parameters: copies(of: parameters), learningRate: 0.5)
        let error = #expect(throws: OptimizerStateError.self) { try target.loadStateDict(state) }
        #expect(error?.missingKeys == ["beta1", "l1.W/v"])
        #expect(error?.unexpectedKeys == ["l2.W/m"])
        #expect(error?.shapeMismatches == [.init(key: "l1.b/m", checkpoint: [3], expected: [2])])
        let message = error.map { String(describing: $0) } ?? ""
        for part in ["beta1", "l1.W/v", "l2.W/m", "l1.b/m", "[3]", "[2]"] {
            #expect(message.contains(part), "message lacks \(part): \(message)")
        }
        // Nothing was loaded.
        #expect(target.stepCount == 0 && target.learningRate == 0.5)
        let targetState = Dictionary(target.stateDict(), uniquingKeysWith: { first, _ in first })
        #expect(targetState["l1.W/m"]!.scalars.allSatisfy { $0 == 0 })
        #expect(targetState["l1.W/step"]!.toArray(of: Int64.self) == [0])
    }

    @Test func rejectsInvalidCountsAndNonScalarHyperparameters() {
        let parameters = makeParameters()
        let optimizer = SGD(parameters: parameters)
        let state = optimizer.stateDict().map { key, value -> (String, Tensor) in
            switch key {
            case "step": return (key, Tensor([Int64(-3)], shape: []))
            case "l1.W/step": return (key, Tensor([Float(1.5)], shape: []))
            case "learningRate": return (key, Tensor([Float(0.1), 0.2]))
            default: return (key, value)
            }
        }
        let error = #expect(throws: OptimizerStateError.self) { try optimizer.loadStateDict(state) }
        #expect(error?.invalidValues.count == 2)
        #expect(error?.invalidValues.contains { $0.contains("l1.W/step") } == true)
        #expect(error?.shapeMismatches.map(\.key) == ["learningRate"])
        #expect(optimizer.learningRate == 0.01 && optimizer.stepCount == 0)
    }

    @Test func nonStrictLoadKeepsMissingEntriesAndIgnoresExtras() throws {
        let parameters = makeParameters()
        let source = MomentumSGD(parameters: parameters, learningRate: 0.2)
        setGradients(parameters, step: 0)
        source.step()
        let state = source.stateDict().filter { $0.0 != "l1.b/v" && $0.0 != "learningRate" }
            + [("other.W/v", Tensor.zeros([4]))]
        let target = MomentumSGD(parameters: copies(of: parameters), learningRate: 0.7)
        #expect(throws: OptimizerStateError.self) { try target.loadStateDict(state) }
        try target.loadStateDict(state, strict: false)
        #expect(target.learningRate == 0.7 && target.stepCount == 1)
        let loaded = Dictionary(target.stateDict(), uniquingKeysWith: { first, _ in first })
        let saved = Dictionary(source.stateDict(), uniquingKeysWith: { first, _ in first })
        #expect(loaded["l1.W/v"]!.scalars == saved["l1.W/v"]!.scalars)
        #expect(loaded["l1.W/v"]!.scalars.contains { $0 != 0 })
        #expect(loaded["l1.b/v"]!.scalars == [0, 0])
    }
}
