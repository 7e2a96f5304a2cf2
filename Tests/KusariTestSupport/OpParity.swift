import Kusari

/// Runs ``OpParityCase``s on the CPU and on a device and says where they differ.
public enum OpParity {
    /// Runs `parityCase` on CPU copies of its inputs and on copies moved to `device`, and
    /// returns what differs (empty when nothing does). The device result must stay on `device`
    /// with the CPU's shape, dtype, values (within the case's tolerance) and gradient
    /// requirement; when it is differentiable, the same pseudo-random output gradient must give
    /// every float input the CPU's gradient, on `device`; observed tensors must match the same
    /// way and generators must end in the CPU's state. Errors thrown on the way are reported,
    /// not rethrown.
    public static func check(_ parityCase: OpParityCase, on device: Device, tolerances: OpParityTolerances)
        -> [String] {
        do {
            return try compare(parityCase, on: device, tolerance: tolerances[parityCase.precision])
        } catch {
            return ["threw \(error)"]
        }
    }

    private static func compare(_ parityCase: OpParityCase, on device: Device, tolerance: Float) throws -> [String] {
        let hostLeaves = parityCase.inputs.map { $0.detach().requiringGrad($0.dtype == .float32) }
        let deviceLeaves = try parityCase.inputs.map { try $0.to(device: device).requiringGrad($0.dtype == .float32) }
        let host = OpParityContext(inputs: hostLeaves, device: .cpu)
        let onDevice = OpParityContext(inputs: deviceLeaves, device: device)
        let expected = try parityCase.op(host), actual = try parityCase.op(onDevice)
        var failures = differences("the result", actual, expected, device: device, tolerance: tolerance)
        if actual.requiresGrad != expected.requiresGrad {
            failures.append("the result \(actual.requiresGrad ? "requires" : "does not require") gradients, "
                            + "the CPU's \(expected.requiresGrad ? "does" : "does not")")
        } else if expected.requiresGrad {
            let seed = parityTensor(expected.shape, seed: 97, low: 0.5, high: 1.5)
            expected.backward(seed)
            actual.backward(try seed.to(device: device))
            for (index, (hostLeaf, deviceLeaf)) in zip(hostLeaves, deviceLeaves).enumerated()
            where hostLeaf.requiresGrad {
                switch (hostLeaf.grad, deviceLeaf.grad) {
                case (nil, nil): break
                case (let hostGrad?, let deviceGrad?):
                    failures += differences("input \(index)'s gradient", deviceGrad, hostGrad, device: device,
                                            tolerance: tolerance)
                case (nil, _?):
                    failures.append("input \(index) has a gradient on the device but none on the CPU")
                case (_?, nil):
                    failures.append("input \(index) has a gradient on the CPU but none on the device")
                }
            }
        }
        failures += observations(onDevice, host, device: device, tolerance: tolerance)
        return failures
    }

    /// Differences between the observed tensors and generators of the two runs.
    private static func observations(_ onDevice: OpParityContext, _ host: OpParityContext, device: Device,
                                     tolerance: Float) -> [String] {
        var failures: [String] = []
        if onDevice.observed.count != host.observed.count {
            failures.append("\(onDevice.observed.count) observed tensors, the CPU \(host.observed.count)")
        }
        for (index, (actual, expected)) in zip(onDevice.observed, host.observed).enumerated() {
            failures += differences("observed tensor \(index)", actual, expected, device: device, tolerance: tolerance)
        }
        if onDevice.generators.count != host.generators.count {
            failures.append("\(onDevice.generators.count) generators, the CPU \(host.generators.count)")
        }
        for (index, (actual, expected)) in zip(onDevice.generators, host.generators).enumerated()
        where actual.state != expected.state {
            failures.append("generator \(index) ends at \(actual.state), the CPU's at \(expected.state)")
        }
        return failures
    }

    /// What differs between `actual` (which must be on `device`) and the CPU's `expected`: device,
    /// shape, dtype, and values beyond `tolerance` (the count and the first few).
    private static func differences(_ what: String, _ actual: Tensor, _ expected: Tensor, device: Device,
                                    tolerance: Float) -> [String] {
        var failures: [String] = []
        if actual.device != device {
            failures.append("\(what) is on \(actual.device), not \(device)")
        }
        guard actual.shape == expected.shape, actual.dtype == expected.dtype else {
            return failures
                + ["\(what) is \(actual.shape) \(actual.dtype), the CPU's \(expected.shape) \(expected.dtype)"]
        }
        let values = Array(zip(actual.scalars, expected.scalars))
        let bad = values.indices.filter { index in
            let (got, want) = values[index]
            return !(Swift.abs(got - want) <= tolerance * Swift.max(1, Swift.abs(want)))
        }
        if !bad.isEmpty {
            let examples = bad.prefix(4).map { "[\($0)] \(values[$0].0) vs \(values[$0].1)" }.joined(separator: ", ")
            failures.append("\(what): \(bad.count) of \(values.count) values differ beyond \(tolerance), "
                            + "first \(examples)")
        }
        return failures
    }
}
