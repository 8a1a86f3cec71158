// swift-tools-version: 6.1
// A nested package, so that `swift test` at the root never builds package-benchmark.
// Run with: cd Benchmarks && swift package benchmark
import PackageDescription

let package = Package(
    name: "StrataBenchmarks",
    dependencies: [
        .package(name: "strata", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "StrataBenchmarks",
            dependencies: [
                .product(name: "Strata", package: "strata"),
                .product(name: "StrataTools", package: "strata"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/StrataBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
