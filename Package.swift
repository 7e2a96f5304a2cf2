// swift-tools-version: 6.0
import PackageDescription

/// Numeric kernels, pixel loops and per-step trainer work are unusably slow unoptimised, so debug
/// (test) builds of the library targets use -O too.
let optimisedInDebug: [SwiftSetting] = [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Kusari",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Kusari", targets: ["Kusari"]),
        .library(name: "KusariNN", targets: ["KusariNN"]),
        .library(name: "KusariOptim", targets: ["KusariOptim"]),
        .library(name: "KusariData", targets: ["KusariData"]),
        .library(name: "KusariTrain", targets: ["KusariTrain"]),
        .executable(name: "kusari", targets: ["kusari"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CDNNL",
            path: "Sources/CDNNL",
            providers: [.apt(["libdnnl-dev"])]
        ),
        .systemLibrary(name: "CMatio", path: "Sources/CMatio", providers: [.apt(["libmatio-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", providers: [.apt(["libcairo2-dev"])]),
        .target(
            name: "Kusari",
            dependencies: ["CDNNL", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
            swiftSettings: optimisedInDebug
        ),
        .target(name: "KusariNN", dependencies: ["Kusari"], swiftSettings: optimisedInDebug),
        .target(name: "KusariOptim", dependencies: ["Kusari", "KusariNN"], swiftSettings: optimisedInDebug),
        .target(
            name: "KusariData",
            dependencies: [
                "Kusari", "CMatio", "CPNG", "CTurboJPEG",
                // zlib comes through ZIPFoundation's `CZlib` module.
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: optimisedInDebug
        ),
        .target(
            name: "KusariTrain", dependencies: ["Kusari", "KusariNN", "KusariOptim", "KusariData", "CCairo"],
            swiftSettings: optimisedInDebug
        ),
        .target(
            name: "KusariModels", dependencies: ["Kusari", "KusariNN", "KusariOptim", "KusariData", "KusariTrain"],
            swiftSettings: optimisedInDebug
        ),
        .target(
            name: "KusariCUDA",
            dependencies: ["Kusari", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: optimisedInDebug
        ),
        .executableTarget(
            name: "kusari",
            dependencies: [
                "Kusari", "KusariNN", "KusariOptim", "KusariModels", "KusariCUDA",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "KusariTestSupport", dependencies: ["Kusari"], path: "Tests/KusariTestSupport"),
        .testTarget(name: "KusariTests", dependencies: ["Kusari", "KusariTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "KusariNNTests", dependencies: ["Kusari", "KusariNN", "KusariTestSupport"]),
        .testTarget(name: "KusariOptimTests", dependencies: ["Kusari", "KusariNN", "KusariOptim", "KusariTestSupport"]),
        .testTarget(name: "KusariModelsTests", dependencies: ["Kusari", "KusariNN", "KusariModels", "KusariTestSupport"]),
        .testTarget(name: "KusariDataTests", dependencies: ["Kusari", "KusariData"]),
        .testTarget(name: "KusariCUDATests", dependencies: ["Kusari", "KusariCUDA", "KusariNN", "KusariOptim", "KusariModels",
                                                       "KusariTestSupport"]),
        .testTarget(name: "KusariCLITests", dependencies: ["kusari"]),
        .testTarget(name: "KusariTrainTests", dependencies: ["Kusari", "KusariNN", "KusariOptim", "KusariData", "KusariTrain",
                                                        "KusariTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
