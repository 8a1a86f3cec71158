// Group keys and the group table of an aggregation: one state per (group, aggregate).

/// A key of an aggregation group. Symbols compare by their id in the table when both keys have one
/// (rows of a table), else as bytes (rows of a subquery); the keys of one query are all of one kind.
struct GroupKey: Equatable {
    var symbol: String
    var bucket: Int64
    var extras: [KeyValue]
    /// The symbol's id in the scanned table, or -1.
    var symbolID: Int32 = -1

    static func == (a: GroupKey, b: GroupKey) -> Bool {
        guard a.bucket == b.bucket else { return false }
        let sameSymbol = a.symbolID >= 0 && b.symbolID >= 0 ? a.symbolID == b.symbolID : sameBytes(a.symbol, b.symbol)
        return sameSymbol && a.extras == b.extras
    }
}

/// A group key value; Float64 by bit pattern so NaN groups with NaN; text by its bytes.
enum KeyValue: Hashable {
    case null, int(Int64), float(UInt64), string(ByteString)

    init(_ v: ResultValue) {
        switch v {
        case .null: self = .null
        case .int(let x): self = .int(x)
        case .float(let d): self = .float(d.bitPattern)
        case .string(let s): self = .string(ByteString(s))
        }
    }

    var value: ResultValue {
        switch self {
        case .null: .null
        case .int(let x): .int(x)
        case .float(let b): .float(Double(bitPattern: b))
        case .string(let s): .string(s.string)
        }
    }
}

/// Groups and their aggregate states, in the order they were first seen.
final class GroupTable {
    /// The index hashes a symbol's number, not its text: symbols are numbered as first seen.
    private struct IndexKey: Hashable {
        var symbol: Int
        var bucket: Int64
        var extras: [KeyValue]
    }

    private var index: [IndexKey: Int] = [:]
    private var symbolNumbers: [ByteString: Int] = [:]
    private var idNumbers: [Int32: Int] = [:]
    private var lastSymbol: (key: GroupKey, number: Int)?
    var keys: [GroupKey] = []
    var states: [AggregateState] = []
    /// Text values and value lists of the states that need them.
    var side = SideValues()
    let width: Int
    private let blank: [AggregateState]

    init(width: Int) {
        self.width = width
        blank = Array(repeating: AggregateState(), count: width)
    }

    /// Room for `groups` groups without regrowing (a hint: more may come).
    func reserve(groups: Int) {
        keys.reserveCapacity(groups)
        states.reserveCapacity(groups * width)
    }

    /// Forgets every group, keeping the memory for the next ones: a table reused this way touches
    /// no fresh pages (a new table for each 4,096 groups of a full resampling was 38% of its page
    /// faults in a fresh process).
    func removeAll() {
        index.removeAll(keepingCapacity: true)
        symbolNumbers.removeAll(keepingCapacity: true)
        idNumbers.removeAll(keepingCapacity: true)
        lastSymbol = nil
        keys.removeAll(keepingCapacity: true)
        states.removeAll(keepingCapacity: true)
        side = SideValues()
        last = nil
        current = nil
        indexed = 0
    }

    /// Keeps only the latest group, as group 0, once the groups before it are finished (their
    /// buckets are behind every row to come). The memory stays for the next groups; the side
    /// values stay too, since the kept state may point into them.
    func keepLatest() {
        let n = keys.count
        guard n > 1 else { return }
        keys.swapAt(0, n - 1)
        keys.removeLast(n - 1)
        for k in 0..<width { states[k] = states[(n - 1) * width + k] }
        states.removeLast((n - 1) * width)
        index.removeAll(keepingCapacity: true)
        indexed = 0
        last = nil
    }

    /// The group last looked up: consecutive blocks and rows mostly fall in the same group.
    private var last: (key: GroupKey, group: Int)?

    @inline(__always)
    func group(_ k: GroupKey) -> Int {
        if let last, last.key == k { return last.group }
        let g = lookup(k)
        last = (k, g)
        return g
    }

    /// The number of a key's symbol, and whether this call numbered it (no group has it yet):
    /// by the symbol's id in the table when the key has one, else by its bytes.
    private func symbolNumber(_ k: GroupKey) -> (number: Int, new: Bool) {
        if let lastSymbol {
            let same = k.symbolID >= 0 ? lastSymbol.key.symbolID == k.symbolID : sameBytes(lastSymbol.key.symbol, k.symbol)
            if same { return (lastSymbol.number, false) }
        }
        var result = (number: symbolNumbers.count + idNumbers.count, new: false)
        if k.symbolID >= 0 {
            if let known = idNumbers[k.symbolID] { result.number = known } else { idNumbers[k.symbolID] = result.number; result.new = true }
        } else {
            if let known = symbolNumbers[ByteString(k.symbol)] { result.number = known } else { symbolNumbers[ByteString(k.symbol)] = result.number; result.new = true }
        }
        lastSymbol = (k, result.number)
        return result
    }

    /// The symbol of the latest group and the largest bucket among that symbol's groups: a key of
    /// that symbol with a larger bucket, or of a new symbol, is a new group without a lookup.
    private var current: (symbol: Int, maxBucket: Int64)?
    /// Keys [0, indexed) are in `index`; the index catches up only when a lookup needs it.
    private var indexed = 0

    private func lookup(_ k: GroupKey) -> Int {
        let (symbol, isNew) = symbolNumber(k)
        if k.extras.isEmpty {
            if isNew {
                current = (symbol, k.bucket)
                return append(k)
            }
            if let c = current, c.symbol == symbol, k.bucket > c.maxBucket {
                current = (symbol, k.bucket)
                return append(k)
            }
        }
        while indexed < keys.count {
            let key = keys[indexed]
            index[IndexKey(symbol: symbolNumber(key).number, bucket: key.bucket, extras: key.extras)] = indexed
            indexed += 1
        }
        let ik = IndexKey(symbol: symbol, bucket: k.bucket, extras: k.extras)
        if let g = index[ik] {
            if current?.symbol != symbol { current = nil }
            return g
        }
        if current?.symbol != symbol { current = nil }
        let g = append(k)
        index[ik] = g
        indexed = keys.count
        return g
    }

    private func append(_ k: GroupKey) -> Int {
        keys.append(k)
        states.append(contentsOf: blank)
        return keys.count - 1
    }

    /// Folds in a table that saw later symbols. With `disjoint` (the groups are per symbol, and each
    /// table saw other symbols) no key can be in both: the groups are appended and the index is
    /// rebuilt only if a lookup needs it.
    func merge(_ other: GroupTable, _ specs: [AggregateSpec], disjoint: Bool) {
        if disjoint {
            keys.append(contentsOf: other.keys)
            if other.side.texts.isEmpty && other.side.lists.isEmpty {
                states.append(contentsOf: other.states)
            } else {
                let offset = side.texts.count, listOffset = side.lists.count
                for (i, state) in other.states.enumerated() {
                    states.append(specs[i % width].rebased(state, textOffset: offset, listOffset: listOffset))
                }
                side.texts.append(contentsOf: other.side.texts)
                side.lists.append(contentsOf: other.side.lists)
            }
            for k in other.keys { _ = symbolNumber(k) }
            last = nil
            current = nil
            return
        }
        for (g, k) in other.keys.enumerated() {
            let mine = group(k)
            for (a, spec) in specs.enumerated() {
                spec.merge(&states[mine * width + a], other.states[g * width + a], side: &side, other: other.side)
            }
        }
    }
}

/// What aggregate states keep outside themselves, so that a state stays a plain value: the text of
/// min/max/first/last of text, and the values of median and quantiles (a state's `bits` index them).
struct SideValues {
    var texts: [String] = []
    /// Int64 values, or Float64 bit patterns.
    var lists: [[Int64]] = []
}
