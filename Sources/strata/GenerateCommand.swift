import ArgumentParser
import Strata
import StrataTools

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write deterministic sample A-share ETF data: bars_1m.csv, fund_shares.csv, ticks.csv.",
        discussion: "Minute bars in trading hours with 3-decimal prices and volumes in lots of 100, daily fund shares at 15:00 Asia/Shanghai, and nanosecond ticks with ties. The same seed always gives the same files."
    )

    enum Preset: String, ExpressibleByArgument, CaseIterable {
        case tiny, small, large
        var size: (symbols: Int, days: Int) {
            switch self {
            case .tiny: (8, 5)
            case .small: (50, 20)
            case .large: (500, 250)
            }
        }
    }

    @Argument(help: "The directory to write into (created if missing).") var directory: String
    @Option(help: "Size preset: tiny (8×5), small (50×20) or large (500×250 symbols × days).") var preset: Preset?
    @Option(help: "Number of symbols.") var symbols = 50
    @Option(help: "Number of trading days from 2024-01-02.") var days = 20
    @Option(help: "Random seed.") var seed: UInt64 = 20_240_102

    func run() throws {
        let size: (symbols: Int, days: Int) = preset?.size ?? (symbols, days)
        let start = now()
        let s = try SampleData.generate(into: directory, symbols: size.symbols, days: size.days, seed: seed)
        print("wrote \(directory): \(s.symbols.count) symbols × \(s.tradingDays) days = \(s.bars) bars, \(s.fundRows) fund rows, \(s.ticks) ticks in \(formatSeconds(now() - start))")
    }
}
