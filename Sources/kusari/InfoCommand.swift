import ArgumentParser
import Foundation
import Kusari
import KusariCUDA

/// `kusari info`: what this build can run on.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show the version, CPU backend and devices.")

    func run() throws {
        let backend = CPUBackendInfo.current
        print("kusari \(KusariVersion.string)")
        print("cpu: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(Threading.threadCount) threads")
        print("oneDNN: \(backend.version) (\(backend.isa), \(backend.runtime) runtime)")
        CUDAEnvironment.probe().lines.forEach { print($0) }
    }
}
