/// A problem reading data: names the file, where in it (byte offset or field), and what was
/// expected instead of what was found.
public struct DatasetError: Error, CustomStringConvertible, Equatable {
    /// The file (or directory) being read.
    public let file: String
    /// Byte offset, record number or field name.
    public let location: String
    /// What was wrong.
    public let message: String

    public init(file: String, location: String, message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    public var description: String { "\(file): \(location): \(message)" }
}
