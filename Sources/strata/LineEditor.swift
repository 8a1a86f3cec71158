import Strata

/// A small line editor for the shell on a terminal: the terminal in raw mode, the line redrawn
/// after each key. Keys: printable text, Backspace, Delete, Left/Right, Home/End, Up/Down (history),
/// Ctrl-A/E (start/end), Ctrl-B/F (left/right), Ctrl-K/U (erase to end/start), Ctrl-W (erase a
/// word), Ctrl-L (clear the screen), Ctrl-C (drop the line), Ctrl-D (quit on an empty line,
/// else delete), Enter.
struct LineEditor {
    enum Outcome {
        case line(String)
        case cancelled
        case end
    }

    private let settings: TerminalSettings
    private var history: [String] = []
    private let historyPath: String?
    private let out = FileWriter.standardOutput()
    private var input = KeyInput()
    static let historyMax = 1_000

    init?() {
        guard let s = System.rawTerminal(0) else { return nil }
        settings = s
        historyPath = System.environment("HOME").map { $0 + "/.strata_history" }
        if let path = historyPath, let bytes = PosixFileSystem.readSmall(path) {
            history = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init).suffix(Self.historyMax).map { $0 }
        }
    }

    func close() {
        settings.restore()
    }

    /// Adds a line to the history and to the history file.
    mutating func remember(_ line: String) {
        let single = line.split(separator: "\n").joined(separator: " ")
        if history.last == single { return }
        history.append(single)
        if history.count > Self.historyMax { history.removeFirst(history.count - Self.historyMax) }
        if let path = historyPath { PosixFileSystem.writeSmall(path, Array((history.joined(separator: "\n") + "\n").utf8)) }
    }

    mutating func readLine(prompt: String) -> Outcome {
        var line: [Unicode.Scalar] = []
        var cursor = 0
        var recalled = history.count  // the history entry shown; history.count is the line being typed
        var typed: [Unicode.Scalar] = []
        redraw(prompt, line, cursor)
        while let key = input.next() {
            switch key {
            case .text(let u):
                line.insert(u, at: cursor)
                cursor += 1
            case .enter:
                out.write("\n")
                out.flush()
                return .line(String(String.UnicodeScalarView(line)))
            case .backspace where cursor > 0:
                line.remove(at: cursor - 1)
                cursor -= 1
            case .delete where cursor < line.count:
                line.remove(at: cursor)
            case .left where cursor > 0: cursor -= 1
            case .right where cursor < line.count: cursor += 1
            case .home: cursor = 0
            case .end: cursor = line.count
            case .eraseToEnd: line.removeSubrange(cursor...)
            case .eraseToStart:
                line.removeSubrange(..<cursor)
                cursor = 0
            case .eraseWord:
                var k = cursor
                while k > 0 && line[k - 1] == " " { k -= 1 }
                while k > 0 && line[k - 1] != " " { k -= 1 }
                line.removeSubrange(k..<cursor)
                cursor = k
            case .up, .down:
                if recalled == history.count { typed = line }
                let next = key == .up ? max(0, recalled - 1) : min(history.count, recalled + 1)
                if next == recalled { break }
                recalled = next
                line = recalled == history.count ? typed : Array(history[recalled].unicodeScalars)
                cursor = line.count
            case .clearScreen: out.write("\u{1B}[H\u{1B}[2J")
            case .interrupt:
                out.write("^C\n")
                out.flush()
                return .cancelled
            case .endOfInput:
                if line.isEmpty {
                    out.write("\n")
                    out.flush()
                    return .end
                }
                if cursor < line.count { line.remove(at: cursor) }
            default: break
            }
            redraw(prompt, line, cursor)
        }
        return .end
    }

    private func redraw(_ prompt: String, _ line: [Unicode.Scalar], _ cursor: Int) {
        out.write("\r" + prompt + String(String.UnicodeScalarView(line)) + "\u{1B}[K")
        if line.count > cursor { out.write("\u{1B}[\(line.count - cursor)D") }
        out.flush()
    }
}

/// Keys from the terminal's bytes: UTF-8 text, control keys and the escape sequences of arrows.
struct KeyInput {
    enum Key: Equatable {
        case text(Unicode.Scalar)
        case enter, backspace, delete, left, right, up, down, home, end
        case eraseToEnd, eraseToStart, eraseWord, clearScreen, interrupt, endOfInput, other
    }

    private var buffer = [UInt8](repeating: 0, count: 256)
    private var bytes: [UInt8] = []
    private var at = 0

    private mutating func byte() -> UInt8? {
        if at == bytes.count {
            guard let n = System.read(0, into: &buffer), n > 0 else { return nil }
            bytes = Array(buffer[0..<n])
            at = 0
        }
        at += 1
        return bytes[at - 1]
    }

    mutating func next() -> Key? {
        guard let b = byte() else { return nil }
        switch b {
        case 13, 10: return .enter
        case 127, 8: return .backspace
        case 1: return .home
        case 5: return .end
        case 2: return .left
        case 6: return .right
        case 11: return .eraseToEnd
        case 21: return .eraseToStart
        case 23: return .eraseWord
        case 12: return .clearScreen
        case 3: return .interrupt
        case 4: return .endOfInput
        case 16: return .up
        case 14: return .down
        case 27: return escape()
        case 0..<32: return .other
        default: return text(b)
        }
    }

    /// ESC [ A/B/C/D/H/F, ESC [ 1~/4~/3~, ESC O H/F.
    private mutating func escape() -> Key {
        guard let b1 = byte(), b1 == UInt8(ascii: "[") || b1 == UInt8(ascii: "O"), let b2 = byte() else { return .other }
        switch b2 {
        case UInt8(ascii: "A"): return .up
        case UInt8(ascii: "B"): return .down
        case UInt8(ascii: "C"): return .right
        case UInt8(ascii: "D"): return .left
        case UInt8(ascii: "H"): return .home
        case UInt8(ascii: "F"): return .end
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            var code = Int(b2 - UInt8(ascii: "0"))
            while let b = byte(), b != UInt8(ascii: "~") {
                guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return .other }
                code = code * 10 + Int(b - UInt8(ascii: "0"))
            }
            switch code {
            case 1, 7: return .home
            case 4, 8: return .end
            case 3: return .delete
            default: return .other
            }
        default: return .other
        }
    }

    /// A UTF-8 sequence starting with `first`.
    private mutating func text(_ first: UInt8) -> Key {
        let length = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1
        var sequence = [first]
        for _ in 1..<length {
            guard let b = byte() else { break }
            sequence.append(b)
        }
        guard let u = String(decoding: sequence, as: UTF8.self).unicodeScalars.first, u != "\u{FFFD}" else { return .other }
        return .text(u)
    }
}
