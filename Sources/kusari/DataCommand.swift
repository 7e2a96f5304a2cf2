import ArgumentParser
import Foundation
import KusariData

/// `kusari data`: list, download and verify the official datasets.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "List, download and verify datasets.",
        subcommands: [ListCommand.self, DownloadCommand.self, VerifyCommand.self])

    struct ListCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the known datasets.")
        func run() {
            for dataset in DatasetCatalog.official.datasets {
                print("\(dataset.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(dataset.title)  (\(dataset.baseURL.absoluteString))")
            }
        }
    }

    struct DownloadCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "download",
            abstract: "Fetch a dataset from its official URL, check the published checksums and extract it.")
        @Argument(help: "Dataset name (see `kusari data list`).") var name: String
        @Option(help: "Destination folder.") var to = "data"
        @Flag(help: "Download again even if a valid copy is present.") var force = false

        func run() throws {
            let folder = try Downloader(log: { print($0) }).download(name, to: URL(fileURLWithPath: to), force: force)
            print("ready: \(folder.path)")
        }
    }

    struct VerifyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify", abstract: "Check which datasets in a folder are present and intact.")
        @Argument(help: "Folder holding the datasets.") var directory: String

        func run() throws {
            let statuses = Downloader.verify(directory: URL(fileURLWithPath: directory))
            for status in statuses { print(status) }
        }
    }
}
