// libFuzzer's driver for Strata's fuzz targets (scripts/fuzz.sh builds it with
// -sanitize=fuzzer,address into its own build folder; the package has this target only when
// STRATA_FUZZ is set). The target is named by STRATA_FUZZ_TARGET: block, manifest, database, csv,
// sql, parquet, tzif, time or calendar (FuzzTarget in Sources/Strata/Support/FuzzTargets.swift).
// The arguments are libFuzzer's (-runs=N, -max_total_time=S, -dict=FILE, corpus folders...).
import Strata

/// libFuzzer's entry for programs with a main of their own (compiler-rt FuzzerInterface.h).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

nonisolated(unsafe) var target = FuzzTarget.block

/// One input: a StrataError is the answer to bad input; anything else traps, and libFuzzer reports it.
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = try? target.run(bytes)
    return 0
}

guard let name = System.environment("STRATA_FUZZ_TARGET"), let chosen = FuzzTarget(rawValue: name) else {
    print("STRATA_FUZZ_TARGET must name a target: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
    System.exit(2)
}
target = chosen
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
System.exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) })
