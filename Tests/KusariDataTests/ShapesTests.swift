import Foundation
import Kusari
@testable import KusariData
import Testing

struct ShapesTests {
    @Test func sameSeedSameBytesDifferentSeedDifferentBytes() {
        let a = Shapes.make(count: 60, seed: 42), b = Shapes.make(count: 60, seed: 42)
        #expect(a.images == b.images)
        #expect(a.labels == b.labels)
        let c = Shapes.make(count: 60, seed: 43)
        #expect(a.images != c.images)
        #expect(a.labels != c.labels)
        // Every image differs between the seeds, not just a few.
        let size = 3 * 32 * 32
        for i in 0..<60 {
            #expect(a.images[(i * size)..<((i + 1) * size)] != c.images[(i * size)..<((i + 1) * size)])
        }
    }

    @Test func imagesArePrefixesOfLargerSets() {
        // Different counts split the work into different chunks across threads.
        let large = Shapes.make(count: 300, seed: 7)
        let small = Shapes.make(count: 25, seed: 7)
        #expect(Array(large.images.prefix(small.images.count)) == small.images)
        #expect(Array(large.labels.prefix(25)) == small.labels)
    }

    @Test func classesAreBalancedAndNamed() {
        let data = Shapes.make(count: 1_000, seed: 1)
        #expect(data.imageShape == [3, 32, 32])
        #expect(data.classNames.count == 10)
        #expect(Set(data.classNames).count == 10)
        var counts = [Int](repeating: 0, count: 10)
        for label in data.labels { counts[Int(label)] += 1 }
        #expect(counts == [Int](repeating: 100, count: 10))
        // Every run of ten holds each class once, but not always in the same order.
        for run in 0..<100 {
            #expect(Set(data.labels[(run * 10)..<(run * 10 + 10)]) == Set(0..<10))
        }
        #expect(data.labels[0..<10] != data.labels[10..<20] || data.labels[10..<20] != data.labels[20..<30])
    }

    /// Each image is its scene (shape in one colour on a shaded background) plus noise of
    /// the scene's strength, the shape is visible, and its area depends
    /// on the class as it should.
    @Test func imagesShowTheirSceneWithNoise() {
        let data = Shapes.make(count: 300, seed: 3)
        let plane = 32 * 32
        var areaByClass = [[Int]](repeating: [], count: 10)
        for i in 0..<data.count {
            let scene = Shapes.scene(index: i, seed: 3)
            #expect(scene.shape.label == Int(data.labels[i]))
            let contrast = scene.foreground - scene.background
            #expect((contrast * contrast).sum().squareRoot() >= 109)
            var area = 0, error: Float = 0
            for y in 0..<32 {
                for x in 0..<32 {
                    let inside = scene.shape.contains(Float(x) + 0.5, Float(y) + 0.5)
                    if inside { area += 1 }
                    let clean = scene.clean(x, y)
                    for c in 0..<3 {
                        let expected = min(max(clean[c], 0), 255)
                        error += abs(Float(data.images[i * 3 * plane + c * plane + y * 32 + x]) - expected)
                    }
                }
            }
            let meanError = error / Float(3 * plane)
            // Mean absolute deviation of triangular noise is about 0.8 of its standard deviation.
            #expect(meanError <= scene.noise + 1, "image \(i): mean error \(meanError), noise \(scene.noise)")
            #expect(meanError >= scene.noise * 0.3, "image \(i): too little noise")
            #expect(area >= 8, "image \(i) of class \(data.labels[i]) has a \(area)-pixel shape")
            areaByClass[Int(data.labels[i])].append(area)
        }
        func mean(_ label: Int) -> Float { Float(areaByClass[label].reduce(0, +)) / Float(areaByClass[label].count) }
        #expect(mean(0) > 2 * mean(4))  // circle vs horizontal bar
        #expect(mean(1) > 2 * mean(6))  // square vs diagonal
        #expect(mean(0) > mean(7))      // circle vs ring
        #expect(mean(9) > mean(5))      // plus vs vertical bar
    }

    @Test func examplesAreScaledToUnitRange() {
        let example = Shapes.make(count: 3, seed: 9).example(at: 2)
        #expect(example.shape == [3, 32, 32])
        #expect(example.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
}
