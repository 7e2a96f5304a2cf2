import Testing
import Kusari
import KusariNN
@testable import KusariModels

/// The seed networks have exactly the published sizes (and PyTorch's counts in Benchmarks/).
struct SeedModelTests {
    @Test(arguments: [(BenchmarkModel.theanoCNN, 796_226), (.tfCIFAR10, 1_068_298), (.vggCIFAR100, 15_033_280),
                      (.rcnnSVHN, 1_192_330)])
    func parameterCountsMatchTheSeeds(model: BenchmarkModel, parameters: Int) {
        #expect(model.makeNetwork().parameterCount == parameters)
    }

    @Test(arguments: BenchmarkModel.allCases)
    func forwardGivesOneScoreRowPerImage(model: BenchmarkModel) {
        let network = model.makeNetwork().eval()
        let logits = withNoGrad { network(Tensor.zeros([2] + model.inputShape)) }
        #expect(logits.shape == [2, model.classes])
        #expect(logits.scalars.allSatisfy { $0.isFinite })
    }

    @Test func theanoChannelVariants() {
        #expect(TheanoCNN(channels: 64).parameterCount == 3_151_874)
        #expect(TheanoCNN(channels: 256).parameterCount == 12_574_466)
    }

    @Test func benchmarkStepRunsAndReportsThroughput() {
        let result = TrainingBenchmark(model: .theanoCNN, batchSize: 4).run(warmup: 1, seconds: 0)
        #expect(result.iterations >= 5)
        #expect(result.imagesPerSecond > 0)
        #expect(result.parameters == 796_226)
    }

    @Test func chainerVGGNamesFollowTheExample() {
        let names = ChainerVGG(classes: 100).namedParameters().map(\.0)
        #expect(names.first == "blocks.0.conv.W")
        #expect(names.contains("bnFC1.gamma"))
        #expect(names.last == "fc2.W")
    }

    @Test func recipesRoundTripThroughTheirArguments() {
        for recipe in Recipes.all { #expect(Recipes.parse(recipe.arguments)?.name == recipe.name) }
        let wide = Recipes.parse("theano-cnn --channels 64")
        #expect(wide?.arguments == "theano-cnn --channels 64" && Recipes.parse("theano-cnn")?.arguments == "theano-cnn")
        #expect(wide?.makeModel(generator: Generator(seed: 0)).parameterCount == 3_151_874)
        #expect(Recipes.parse("mlp-mnist --channels 3") == nil && Recipes.parse("no-such-recipe") == nil)
        #expect(Recipes.named("vgg-cifar10", channels: 8) == nil && Recipes.named("theano-cnn", channels: 0) == nil)
    }
}
