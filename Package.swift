// swift-tools-version: 6.2
import PackageDescription

// The fuzz targets (scripts/fuzz.sh): an executable that hands its inputs to libFuzzer's driver, built
// with the fuzzer and address sanitizers; it exists only when STRATA_FUZZ is set, in the fuzz build
// folder, so `swift build` and `swift test` never see it.
let fuzzTargets: [Target] = Context.environment["STRATA_FUZZ"] == nil ? [] : [
    .executableTarget(
        name: "StrataFuzz",
        dependencies: ["Strata"],
        swiftSettings: [.swiftLanguageMode(.v6), .unsafeFlags(["-sanitize=fuzzer,address"])],
        linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
    )
]

// Metadata of generic types (an array of a struct of the library's, a dictionary keyed by one) is
// reached through accessor functions instead of mangled type names, which the runtime must demangle
// the first time each is used: in a fresh `strata query` process that demangling was 0.29 M of the
// 1.17 M instructions between the parsed query and its last row (Q3); fresh windows fell 50-100 us.
// An unsafe flag: tools version 6.2 is what lets a package that depends on Strata by version use it.
// Release builds also leave out the run-time checks of exclusive access (the compile-time ones stay):
// on a class's arrays they were 5-10% of a LATEST ON over 500 symbols. Debug builds, and so the
// tests, keep them.
let engineSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"]),
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "strata",
    // Built and tested on Linux. The Apple platforms are where Synchronization (Mutex, Atomic) is
    // available; the library's only system calls are in Sources/Strata/Platform/System.swift.
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    products: [
        .library(name: "Strata", targets: ["Strata"]),
        // The sample-data generator and the standard benchmark suite: tools, not the engine.
        .library(name: "StrataTools", targets: ["StrataTools"]),
        .executable(name: "strata", targets: ["StrataCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation` (the DocC catalog in Sources/Strata/Strata.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The system liblz4 (Debian: liblz4-dev). Only Sources/Strata/Format/LZ4.swift imports it.
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // Parquet's codecs: the system libzstd, libsnappy and zlib (Debian: libzstd-dev, libsnappy-dev,
        // zlib1g-dev). Only Sources/Strata/Parquet/ParquetCodec.swift imports them.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The C kernels (bit unpacking unrolled per width, SSE2 and AVX-512 paths dispatched at
        // run time); see its header for who calls them. The tests compare vector and scalar paths.
        .target(name: "CStrataKernels"),
        .target(
            name: "Strata",
            dependencies: ["CLZ4", "CZstd", "CSnappy", "CZlib", "CStrataKernels"],
            exclude: ["Parquet/FORMAT-NOTES.md"],
            swiftSettings: engineSettings
        ),
        .target(
            name: "StrataTools",
            dependencies: ["Strata"],
            swiftSettings: engineSettings
        ),
        .executableTarget(
            name: "StrataCLI",
            dependencies: [
                "Strata",
                "StrataTools",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/strata",
            swiftSettings: engineSettings
        ),
        .testTarget(
            name: "StrataTests",
            dependencies: ["Strata", "StrataTools", "CStrataKernels"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // README.md's Swift examples, compiled against the public API only (no @testable).
        .testTarget(
            name: "StrataReadmeTests",
            dependencies: ["Strata"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ] + fuzzTargets
)
