/// A set of slots (the planner's column numbers, from 0), a bit a slot. `Set<Int>` would do, but its
/// first use in a process instantiates the hashed storage's type metadata, which looks up Int's
/// conformance to Hashable by a scan of every conformance in the binary: 240 K instructions, in the
/// first query's time.
struct SlotSet: Equatable {
    private var words: [UInt64] = []

    init() {}

    init(_ slots: some Sequence<Int>) {
        for s in slots { insert(s) }
    }

    mutating func insert(_ slot: Int) {
        precondition(slot >= 0, "slot \(slot) is negative")
        while words.count <= slot / 64 { words.append(0) }
        words[slot / 64] |= 1 << UInt64(slot % 64)
    }

    func contains(_ slot: Int) -> Bool {
        slot >= 0 && slot / 64 < words.count && words[slot / 64] & (1 << UInt64(slot % 64)) != 0
    }

    var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    func subtracting(_ other: SlotSet) -> SlotSet {
        var out = self
        for i in out.words.indices where i < other.words.count { out.words[i] &= ~other.words[i] }
        return out
    }

    func isDisjoint(with other: SlotSet) -> Bool {
        zip(words, other.words).allSatisfy { $0 & $1 == 0 }
    }

    /// The slots in increasing order.
    var sorted: [Int] {
        var out: [Int] = []
        for (i, w) in words.enumerated() {
            var w = w
            while w != 0 {
                out.append(i * 64 + w.trailingZeroBitCount)
                w &= w - 1
            }
        }
        return out
    }
}
