import Foundation
import Kusari

/// The SVHN training/validation split of the Maxout paper (Goodfellow et al. 2013), used by the
/// RCNN seed: a validation set of `validationPerClassFromTrain` (400) examples of each class drawn
/// from `train` plus `validationPerClassFromExtra` (200) of each class drawn from `extra`; every
/// other example of `train` and `extra` is training data.
///
/// The draw is deterministic given `seed`: a ``Generator`` seeded with it permutes `train`, then
/// `extra`, and each class takes its first examples in permuted order. Both returned datasets list
/// `train` examples before `extra` ones; validation examples in permuted order, training examples
/// in their original order.
///
/// `mean` is the mean image over all of `train` and `extra` (each image weighted equally, so the
/// two sets are weighted by their sizes), as `[C * H * W]` floats in CHW order in raw pixel units
/// (0...255): the seed subtracts it from the raw pixel values.
///
/// - Precondition: both datasets have the same image shape, and every class `0..<classCount`
///   (where `classCount` is the number of class names of `train`) has enough examples in each.
public func svhnSplit(train: ImageDataset, extra: ImageDataset, seed: UInt64,
                      validationPerClassFromTrain: Int = 400,
                      validationPerClassFromExtra: Int = 200) -> (training: ImageDataset, validation: ImageDataset, mean: [Float]) {
    precondition(train.imageShape == extra.imageShape,
                 "svhnSplit: image shapes differ (train \(train.imageShape), extra \(extra.imageShape))")
    let classCount = max(train.classNames.count, extra.classNames.count,
                         Int((train.labels + extra.labels).max() ?? -1) + 1)
    let generator = Generator(seed: seed)

    /// Picks `perClass` examples of each class in the order of a fresh permutation.
    func pick(_ data: ImageDataset, perClass: Int, name: String) -> (validation: [Int], training: [Int]) {
        let order = generator.permutation(data.count)
        var taken = [Int](repeating: 0, count: classCount)
        var isValidation = [Bool](repeating: false, count: data.count)
        var validation = [Int]()
        validation.reserveCapacity(perClass * classCount)
        for index in order {
            let label = Int(data.labels[index])
            precondition(label >= 0 && label < classCount, "svhnSplit: label \(label) of \(name)[\(index)] out of range")
            if taken[label] < perClass {
                taken[label] += 1
                isValidation[index] = true
                validation.append(index)
            }
        }
        for (label, n) in taken.enumerated() where n < perClass {
            preconditionFailure("svhnSplit: \(name) has only \(n) examples of class \(label), \(perClass) needed for validation")
        }
        let training = (0..<data.count).filter { !isValidation[$0] }
        return (validation, training)
    }

    let fromTrain = pick(train, perClass: validationPerClassFromTrain, name: "train")
    let fromExtra = pick(extra, perClass: validationPerClassFromExtra, name: "extra")
    let validation = ImageDataset.concatenate([train.subset(fromTrain.validation), extra.subset(fromExtra.validation)])
    let training = ImageDataset.concatenate([train.subset(fromTrain.training), extra.subset(fromExtra.training)])
    return (training, validation, svhnWeightedMean([train, extra]))
}

/// The mean image over all examples of `datasets` (each image weighted equally), as floats in
/// CHW order in raw byte units (0...255).
private func svhnWeightedMean(_ datasets: [ImageDataset]) -> [Float] {
    guard let first = datasets.first else { return [] }
    let size = first.imageSize
    precondition(datasets.allSatisfy { $0.imageSize == size }, "svhnSplit: image sizes differ")
    let total = datasets.reduce(0) { $0 + $1.count }
    guard total > 0 else { return [Float](repeating: 0, count: size) }

    // Exact integer sums per pixel, over chunks of images in parallel (a chunk of at most 2^24
    // images cannot overflow UInt32 sums of bytes).
    var sums = [UInt64](repeating: 0, count: size)
    let lock = NSLock()
    for data in datasets where data.count > 0 {
        let chunk = max(1, min(1 << 16, (data.count + 63) / 64))
        let chunks = (data.count + chunk - 1) / chunk
        data.images.withUnsafeBufferPointer { images in
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                var partial = [UInt32](repeating: 0, count: size)
                partial.withUnsafeMutableBufferPointer { p in
                    for image in (c * chunk)..<min(data.count, (c + 1) * chunk) {
                        let base = images.baseAddress! + image * size
                        for i in 0..<size { p[i] &+= UInt32(base[i]) }
                    }
                }
                lock.lock()
                for i in 0..<size { sums[i] += UInt64(partial[i]) }
                lock.unlock()
            }
        }
    }
    return sums.map { Float(Double($0) / Double(total)) }
}
