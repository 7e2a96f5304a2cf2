import Foundation
import Kusari
import KusariNN
import Testing

/// conv → BN block, as in Chainer's VGG example.
final class TestBlock: Module, UnaryLayer {
    let conv: Conv2d
    let bn: BatchNorm

    init(_ inChannels: Int, _ outChannels: Int) {
        conv = Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, bias: false)
        bn = BatchNorm(outChannels)
        super.init()
    }

    func callAsFunction(_ x: Tensor) -> Tensor { relu(bn(conv(x))) }
}

/// A network exercising every kind of reflected member.
final class TestNet: Module {
    let stem = Conv2d(3, 4, kernelSize: 3)
    let blocks: [TestBlock] = [TestBlock(4, 4), TestBlock(4, 8)]
    let scale = Tensor.ones([8]).requiringGrad()
    let absent: Tensor? = nil
    let present: Tensor? = Tensor.zeros([2])
    let counter = 0
    let head = Linear(8, 2)
}

class BaseModel: Module {
    let first = Linear(2, 3)
}

final class DerivedModel: BaseModel {
    let second = Linear(3, 1, bias: false)
    let dropout = Dropout(0.5)
}

final class SharedModel: Module {
    let a: Linear
    let b: Linear
    init(shared: Linear) {
        a = shared
        b = shared
        super.init()
    }
}

struct ModuleTests {
    @Test func parameterNamesFollowDeclarationOrder() {
        let net = TestNet()
        #expect(net.namedParameters().map(\.0) == [
            "stem.W", "stem.b",
            "blocks.0.conv.W", "blocks.0.bn.gamma", "blocks.0.bn.beta",
            "blocks.1.conv.W", "blocks.1.bn.gamma", "blocks.1.bn.beta",
            "scale", "head.W", "head.b",
        ])
        #expect(net.namedBuffers().map(\.0) == [
            "blocks.0.bn.avgMean", "blocks.0.bn.avgVar", "blocks.1.bn.avgMean", "blocks.1.bn.avgVar", "present",
        ])
        #expect(net.stateDict().map(\.0) == [
            "stem.W", "stem.b",
            "blocks.0.conv.W", "blocks.0.bn.gamma", "blocks.0.bn.beta", "blocks.0.bn.avgMean", "blocks.0.bn.avgVar",
            "blocks.1.conv.W", "blocks.1.bn.gamma", "blocks.1.bn.beta", "blocks.1.bn.avgMean", "blocks.1.bn.avgVar",
            "scale", "present", "head.W", "head.b",
        ])
        #expect(net.parameters().count == 11)
        #expect(net.parameters()[0] === net.stem.W)
    }

    @Test func childrenAndModules() {
        let net = TestNet()
        #expect(net.namedChildren().map(\.0) == ["stem", "blocks.0", "blocks.1", "head"])
        #expect(net.namedModules().map(\.0) == [
            "", "stem", "blocks.0", "blocks.0.conv", "blocks.0.bn", "blocks.1", "blocks.1.conv", "blocks.1.bn", "head",
        ])
        #expect(net.modules().count == 9)
        #expect(net.modules()[0] === net)
    }

    @Test func superclassPropertiesComeFirst() {
        let model = DerivedModel()
        #expect(model.namedParameters().map(\.0) == ["first.W", "first.b", "second.W"])
        #expect(model.namedChildren().map(\.0) == ["first", "second", "dropout"])
    }

    @Test func sharedModulesAndTensorsAppearOnce() {
        let model = SharedModel(shared: Linear(2, 2))
        #expect(model.namedParameters().map(\.0) == ["a.W", "a.b"])
        #expect(model.namedChildren().map(\.0) == ["a"])
        #expect(model.parameterCount == 6)
    }

    @Test func sequentialNamesChildrenByPosition() {
        let model = Sequential(Linear(4, 3), ReLU(), Sequential(Linear(3, 2), Tanh()))
        #expect(model.namedParameters().map(\.0) == ["0.W", "0.b", "2.0.W", "2.0.b"])
        #expect(model.namedChildren().map(\.0) == ["0", "1", "2"])
        #expect(model.count == 3)
    }

    @Test func parameterCounts() {
        #expect(Conv2d(3, 16, kernelSize: 5).parameterCount == 1216)
        #expect(Conv2d(3, 16, kernelSize: 5, bias: false).parameterCount == 1200)
        #expect(Conv2d(8, 8, kernelSize: 3, groups: 4).parameterCount == 8 * 2 * 9 + 8)
        #expect(Linear(10, 5).parameterCount == 55)
        #expect(BatchNorm(8).parameterCount == 16)
        #expect(BatchNorm(8, affine: false).parameterCount == 0)
        #expect(Embedding(100, 16).parameterCount == 1600)
        #expect(ConvTranspose2d(4, 6, kernelSize: 3, groups: 2).parameterCount == 4 * 3 * 9 + 6)
        #expect(RCL(steps: 3, channels: 8).parameterCount == 2 * (8 * 8 * 9 + 8))
        // upward [16, 3] + b [16], lateral [16, 4]
        #expect(LSTM(3, 4).parameterCount == 48 + 16 + 64)
        // The TensorFlow CIFAR-10 tutorial model of seed 003 has 1,068,298 parameters.
        let tfModel = Sequential(Conv2d(3, 64, kernelSize: 5, padding: 2), Conv2d(64, 64, kernelSize: 5, padding: 2),
                                 Linear(64 * 6 * 6, 384), Linear(384, 192), Linear(192, 10))
        #expect(tfModel.parameterCount == 1_068_298)
    }

    @Test func frozenBilinearWeightsAreBuffers() {
        let up = ConvTranspose2d.bilinearUpsampling(channels: 3, factor: 2)
        #expect(up.parameters().isEmpty)
        #expect(up.namedBuffers().map(\.0) == ["W"])
        #expect(up.stateDict().map(\.0) == ["W"])
    }

    @Test func trainEvalPropagates() {
        let net = TestNet()
        #expect(net.modules().allSatisfy { $0.isTraining })
        net.eval()
        #expect(net.modules().allSatisfy { !$0.isTraining })
        net.blocks[1].train()
        #expect(net.blocks[1].bn.isTraining && !net.blocks[0].bn.isTraining && !net.isTraining)
        net.isTraining = true
        #expect(net.modules().allSatisfy { $0.isTraining })
        let sequential = Sequential(Dropout(0.5), Sequential(Dropout(0.5)))
        sequential.train(false)
        #expect(sequential.modules().count == 4)
        #expect(sequential.modules().allSatisfy { !$0.isTraining })
    }

    @Test func zeroGradClearsEveryParameter() {
        let model = Linear(3, 2)
        linear(Tensor.ones([1, 3]), model.W, bias: model.b).sum().backward()
        #expect(model.W.grad != nil && model.b?.grad != nil)
        model.zeroGrad()
        #expect(model.parameters().allSatisfy { $0.grad == nil })
    }

    @Test func stateDictLoadCopiesValues() throws {
        let source = TestNet(), target = TestNet()
        setValues(source.blocks[0].bn.avgMean!, [1, 2, 3, 4])
        try target.loadStateDict(source.stateDict())
        for ((name, a), (_, b)) in zip(source.stateDict(), target.stateDict()) {
            #expect(a.scalars == b.scalars, "\(name)")
            #expect(a !== b)
        }
        #expect(target.blocks[0].bn.avgMean!.scalars == [1, 2, 3, 4])
    }

    @Test func loadStateDictReportsMissingUnexpectedAndMismatchedKeys() {
        let model = Sequential(Conv2d(3, 16, kernelSize: 3), BatchNorm(16))
        var state = Sequential(Conv2d(3, 16, kernelSize: 5), BatchNorm(16)).stateDict()
        state.removeAll { $0.0 == "1.avgVar" || $0.0 == "0.b" }
        state.append(("1.N", Tensor([3] as [Float])))
        let before = model.stateDict().map { $0.1.scalars }
        do {
            try model.loadStateDict(state)
            Issue.record("loading a mismatched state dict did not throw")
        } catch let error as StateDictError {
            #expect(error.missingKeys == ["0.b", "1.avgVar"])
            #expect(error.unexpectedKeys == ["1.N"])
            #expect(error.shapeMismatches == [.init(key: "0.W", checkpoint: [16, 3, 5, 5], model: [16, 3, 3, 3])])
            #expect(error.description == "cannot load state dict: missing keys: 0.b, 1.avgVar; unexpected keys: 1.N; "
                + "shape mismatches: 0.W: checkpoint [16,3,5,5], model [16,3,3,3]")
        } catch {
            Issue.record("unexpected error \(error)")
        }
        #expect(model.stateDict().map { $0.1.scalars } == before, "a failed load must not change the model")
    }

    @Test func nonStrictLoadIgnoresMissingAndUnexpectedKeysButNotShapes() throws {
        let model = Sequential(Linear(2, 3), Linear(3, 1))
        let other = Sequential(Linear(2, 3))
        try model.loadStateDict(other.stateDict() + [("extra", Tensor.zeros([1]))], strict: false)
        #expect(model.stateDict()[0].1.scalars == other.stateDict()[0].1.scalars)
        #expect(throws: StateDictError.self) {
            try model.loadStateDict([("0.W", Tensor.zeros([2, 2]))], strict: false)
        }
    }
}

/// Arrays of tensors and dictionaries of modules are expanded too.
final class CollectionsModel: Module {
    let weights = [Tensor.ones([2]).requiringGrad(), Tensor.zeros([3])]
    let heads: [String: Module] = ["b": Linear(1, 1, bias: false), "a": ReLU()]
    let cache: Tensor = Tensor.ones([1]).requiringGrad() * 2  // not a leaf: an activation, skipped
}

struct CollectionReflectionTests {
    @Test func arraysAndDictionariesAreExpanded() {
        let model = CollectionsModel()
        #expect(model.namedParameters().map(\.0) == ["weights.0", "heads.b.W"])
        #expect(model.namedBuffers().map(\.0) == ["weights.1"])
        #expect(model.namedChildren().map(\.0) == ["heads.a", "heads.b"])
    }
}
