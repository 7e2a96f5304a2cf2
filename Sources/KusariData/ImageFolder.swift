import Foundation

/// A directory of images with one sub-folder per class (torchvision's `ImageFolder` layout):
///
///     root/cat/001.png
///     root/cat/002.jpg
///     root/dog/a.jpeg
///
/// Class names are the sub-folder names sorted by Unicode scalar values, and label `k` is the
/// `k`-th of them. PNG and JPEG files (recognised by the extensions `.png`, `.jpg`, `.jpeg`, in
/// any case) are decoded with ``ImageCodec`` to 8-bit RGB in CHW order; hidden entries (names
/// starting with `.`) and files with other extensions are ignored. Within a class, files are
/// taken in sorted name order.
public enum ImageFolder {
    /// File extensions that are read (lower case).
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Loads every image under `directory` into memory.
    ///
    /// - Parameters:
    ///   - size: when given, every image is resized to `(height, width)` with bilinear
    ///     interpolation (see ``ImageCodec/resize(_:shape:to:)``); otherwise all images must
    ///     have the size of the first one.
    ///   - channels: 3 for RGB (default) or 1 for gray.
    /// - Throws: ``DatasetError`` naming the directory when it has no class folders or a class
    ///   folder has no images, and naming the file for an unreadable or corrupt image or one
    ///   whose size differs from the first image's.
    public static func load(directory: URL, size: (height: Int, width: Int)? = nil, channels: Int = 3) throws -> ImageDataset {
        precondition(channels == 1 || channels == 3, "ImageFolder: channels must be 1 or 3, got \(channels)")
        if let size { precondition(size.height > 0 && size.width > 0, "ImageFolder: size \(size) must be positive") }
        let (classNames, files) = try listing(directory)

        // Decode in parallel; each worker fills its own slot.
        var decoded = [Result<[UInt8], DatasetError>?](repeating: nil, count: files.count)
        var shapes = [[Int]](repeating: [], count: files.count)
        decoded.withUnsafeMutableBufferPointer { results in
            shapes.withUnsafeMutableBufferPointer { shapeSlots in
                DispatchQueue.concurrentPerform(iterations: files.count) { i in
                    do {
                        var (pixels, shape) = try ImageCodec.readImage(files[i].url, channels: channels)
                        if let size, (shape[1], shape[2]) != (size.height, size.width) {
                            pixels = ImageCodec.resize(pixels, shape: shape, to: size)
                            shape = [channels, size.height, size.width]
                        }
                        results[i] = .success(pixels)
                        shapeSlots[i] = shape
                    } catch let error as DatasetError {
                        results[i] = .failure(error)
                    } catch {
                        results[i] = .failure(DatasetError(file: files[i].url.path, location: "file", message: "\(error)"))
                    }
                }
            }
        }

        let imageShape = shapes[0]
        var images = [UInt8]()
        images.reserveCapacity(files.count * imageShape.reduce(1, *))
        for (i, result) in decoded.enumerated() {
            switch result! {
            case .failure(let error):
                throw error
            case .success(let pixels):
                guard shapes[i] == imageShape else {
                    throw DatasetError(
                        file: files[i].url.path, location: "image size",
                        message: "\(shapes[i][1])x\(shapes[i][2]) (height x width), but \(files[0].url.lastPathComponent) is "
                            + "\(imageShape[1])x\(imageShape[2]); pass a size to resize all images")
                }
                images += pixels
            }
        }
        return ImageDataset(images: images, labels: files.map(\.label), imageShape: imageShape, classNames: classNames)
    }

    /// The class folders (sorted) and the image files with their labels.
    static func listing(_ directory: URL) throws -> (classNames: [String], files: [(url: URL, label: Int32)]) {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError(file: directory.path, location: "directory", message: "no such directory")
        }
        func entries(_ url: URL) throws -> [String] {
            do {
                return try manager.contentsOfDirectory(atPath: url.path).filter { !$0.hasPrefix(".") }
                    .sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            } catch {
                throw DatasetError(file: url.path, location: "directory", message: "cannot list: \(error.localizedDescription)")
            }
        }
        let classNames = try entries(directory).filter {
            var isFolder: ObjCBool = false
            return manager.fileExists(atPath: directory.appendingPathComponent($0).path, isDirectory: &isFolder)
                && isFolder.boolValue
        }
        guard !classNames.isEmpty else {
            throw DatasetError(file: directory.path, location: "directory",
                               message: "no class folders; expected one sub-folder of images per class")
        }
        var files = [(url: URL, label: Int32)]()
        for (label, name) in classNames.enumerated() {
            let folder = directory.appendingPathComponent(name)
            let images = try entries(folder).filter { imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
            guard !images.isEmpty else {
                throw DatasetError(file: folder.path, location: "class \(name)",
                                   message: "no PNG or JPEG images in the class folder")
            }
            files += images.map { (folder.appendingPathComponent($0), Int32(label)) }
        }
        return (classNames, files)
    }
}
