/// An open file descriptor.
struct OpenFile: Sendable {
    let fd: Int32
    let path: String
}

/// Which file a name or descriptor refers to (device and inode).
struct FileIdentity: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
}

/// The one door to the operating system for files: every open, write, sync, rename, lock and map
/// of the storage layer goes through here, so tests can substitute a fault-injecting file system.
/// `PosixFileSystem` (in `System.swift`, the only file that imports the C library) is the real one.
protocol FileSystem: Sendable {
    func open(_ path: String, create: Bool, writable: Bool) throws(StrataError) -> OpenFile
    func close(_ file: OpenFile)
    func size(_ file: OpenFile) throws(StrataError) -> UInt64
    func identity(_ file: OpenFile) throws(StrataError) -> FileIdentity
    /// The identity of the file `path` names now, or nil when it names none.
    func identity(atPath path: String) -> FileIdentity?
    func write(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(StrataError)
    func read(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(StrataError) -> Int
    /// Makes the file's data durable (fdatasync).
    func sync(_ file: OpenFile) throws(StrataError)
    func truncate(_ file: OpenFile, to length: UInt64) throws(StrataError)
    /// Makes a directory's entries durable (fsync of the directory).
    func syncDirectory(_ path: String) throws(StrataError)
    func makeDirectory(_ path: String) throws(StrataError)
    /// Removes an empty directory.
    func removeDirectory(_ path: String) throws(StrataError)
    func exists(_ path: String) -> Bool
    func isDirectory(_ path: String) -> Bool
    func list(_ directory: String) throws(StrataError) -> [String]
    func remove(_ path: String) throws(StrataError)
    /// Renames atomically; durable after `syncDirectory` of the directory.
    func rename(_ from: String, to: String) throws(StrataError)
    /// Takes an exclusive, non-blocking lock on the file; false when someone else holds it.
    func tryLock(_ file: OpenFile) throws(StrataError) -> Bool
    /// Maps the first `length` bytes of the file read-only and shared.
    func map(_ file: OpenFile, length: Int) throws(StrataError) -> MappedRegion
}

extension FileSystem {
    /// Reads a whole small file (at most `limit` bytes), or nil when it cannot be opened or is larger.
    func readSmallFile(_ path: String, limit: Int) -> [UInt8]? {
        guard let h = try? open(path, create: false, writable: false) else { return nil }
        defer { close(h) }
        guard let size = try? self.size(h), size <= UInt64(limit) else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let n = bytes.withUnsafeMutableBytes { b in (try? read(h, into: b, at: 0)) ?? -1 }
        if n < 0 { return nil }
        bytes.removeLast(bytes.count - n)
        return bytes
    }
}

/// A file written front to back through a buffer: CSV and sample data written by tools, and the
/// command-line tool's standard output and error. Writes go through the same `FileSystem` door.
package final class OutputFile {
    package let path: String
    private let fs: any FileSystem
    private let file: OpenFile
    /// Pipes and terminals have no offsets: they are written with `write(2)`, files at `offset`.
    private let sequential: Bool
    private var offset: UInt64 = 0
    private let flushBytes: Int
    /// The bytes not yet written: `pending` of `capacity` at `storage`. Raw memory rather than an
    /// array: an append is a capacity check and a store. An array in a class paid a run-time
    /// exclusive-access check an append (printing a day of bars 1.33 M → 0.85 M instructions
    /// without it) and a uniqueness check (0.85 M → 0.78 M with the decimal rounding now in `DecimalText`).
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var pending = 0

    /// Creates (or empties) the file at `path`.
    package convenience init(creating path: String) throws(StrataError) {
        let fs = PosixFileSystem()
        let file = try fs.open(path, create: true, writable: true)
        do {
            try fs.truncate(file, to: 0)
        } catch {
            fs.close(file)
            throw error
        }
        self.init(fs: fs, file: file, sequential: false, flushBytes: 1 << 20)
    }

    init(fs: any FileSystem, file: OpenFile, sequential: Bool, flushBytes: Int) {
        self.fs = fs
        self.file = file
        self.path = file.path
        self.sequential = sequential
        self.flushBytes = flushBytes
        capacity = max(flushBytes, 256)
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Standard output (buffered) and standard error (written at once).
    package static func standardOutput() -> OutputFile {
        OutputFile(fs: PosixFileSystem(), file: OpenFile(fd: 1, path: "standard output"), sequential: true, flushBytes: 1 << 16)
    }
    package static func standardError() -> OutputFile {
        OutputFile(fs: PosixFileSystem(), file: OpenFile(fd: 2, path: "standard error"), sequential: true, flushBytes: 0)
    }

    /// Bytes written so far, buffered ones included: the offset the next byte lands at.
    package var position: UInt64 { offset + UInt64(pending) }

    package func append(_ byte: UInt8) {
        if pending == capacity { grow(to: pending + 1) }
        storage.storeBytes(of: byte, toByteOffset: pending, as: UInt8.self)
        pending += 1
    }

    package func append(_ text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: UnsafeRawBufferPointer($0)) }
    }

    package func append(contentsOf bytes: some Sequence<UInt8>) {
        let copied: Void? = bytes.withContiguousStorageIfAvailable { append(contentsOf: UnsafeRawBufferPointer($0)) }
        if copied == nil { for b in bytes { append(b) } }
    }

    package func append(contentsOf bytes: UnsafeRawBufferPointer) {
        guard let from = bytes.baseAddress, !bytes.isEmpty else { return }
        if pending + bytes.count > capacity { grow(to: pending + bytes.count) }
        (storage + pending).copyMemory(from: from, byteCount: bytes.count)
        pending += bytes.count
    }

    /// Makes room for `needed` bytes in all (a text longer than the flush size is kept whole).
    private func grow(to needed: Int) {
        let larger = max(needed, capacity * 2)
        let moved = UnsafeMutableRawPointer.allocate(byteCount: larger, alignment: 16)
        moved.copyMemory(from: storage, byteCount: pending)
        storage.deallocate()
        storage = moved
        capacity = larger
    }

    /// `v` in decimal.
    package func append(decimal v: Int64) {
        reserve(DecimalText.longest)
        pending += DecimalText.write(v.magnitude, fractionDigits: nil, negative: v < 0, to: storage + pending)
    }

    /// `d` exactly as `d.description` writes it: the shortest text that reads back to the same bits.
    package func append(shortest d: Double) {
        var hint = 0
        append(shortest: d, scaleHint: &hint)
    }

    /// `d` as `append(shortest:)` writes it, trying `scaleHint` decimal places first and raising it
    /// to the places `d` needed: a column's values mostly need the same places (prices three,
    /// amounts one), so one hint a column makes most values one try instead of one a place.
    package func append(shortest d: Double, scaleHint: inout Int) {
        guard let (m, k) = DecimalText.shortest(d, hint: &scaleHint) else { return append(d.description) }
        reserve(DecimalText.longest)
        pending += DecimalText.write(m, fractionDigits: k, negative: d < 0, to: storage + pending)
    }

    /// Room for `count` more bytes at `storage + pending`.
    @inline(__always)
    private func reserve(_ count: Int) {
        if capacity - pending < count { grow(to: pending + count) }
    }

    /// Writes the buffer when it has grown past its flush size.
    package func flushIfFull() throws(StrataError) {
        if pending >= flushBytes { try flush() }
    }

    package func flush() throws(StrataError) {
        if pending == 0 { return }
        let bytes = UnsafeRawBufferPointer(start: storage, count: pending)
        if sequential {
            try PosixFileSystem.writeSequential(file, bytes)
        } else {
            try fs.write(file, bytes, at: offset)
            offset += UInt64(pending)
        }
        pending = 0
    }

    /// Flushes and closes the file.
    package func finish() throws(StrataError) {
        defer { if !sequential { fs.close(file) } }
        try flush()
    }
}

/// File operations the tools need beyond `OutputFile`, through the real file system.
package enum LocalFiles {
    /// Creates a directory and any missing parents (existing ones are fine).
    package static func makeDirectory(_ path: String) throws(StrataError) {
        let fs = PosixFileSystem()
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            if !fs.isDirectory(prefix) { try fs.makeDirectory(prefix) }
        }
    }
    /// Whether `path` names a file or directory.
    package static func exists(_ path: String) -> Bool { PosixFileSystem().exists(path) }

    package static func isDirectory(_ path: String) -> Bool { PosixFileSystem().isDirectory(path) }

    /// The names in a directory (not `.` and `..`).
    package static func list(_ directory: String) throws(StrataError) -> [String] { try PosixFileSystem().list(directory) }

    /// Creates `path` (and missing parents) for output; an existing directory must be empty, so that
    /// no file of an earlier run is taken for part of this one.
    package static func makeEmptyDirectory(_ path: String) throws(StrataError) {
        if exists(path) {
            if !isDirectory(path) { throw .badInput("\(path) exists and is not a directory") }
            if try !list(path).isEmpty { throw .badInput("\(path) is not empty: remove it or name another directory") }
        }
        try makeDirectory(path)
    }
}

extension PosixFileSystem {
    /// A small file's bytes (at most 4 MB), or nil: for the tools' own files (the shell's history).
    package static func readSmall(_ path: String) -> [UInt8]? {
        PosixFileSystem().readSmallFile(path, limit: 1 << 22)
    }

    /// Replaces a small file's bytes, best effort (not durable): for the tools' own files.
    package static func writeSmall(_ path: String, _ bytes: [UInt8]) {
        let fs = PosixFileSystem()
        guard let h = try? fs.open(path, create: true, writable: true) else { return }
        defer { fs.close(h) }
        try? fs.truncate(h, to: 0)
        _ = bytes.withUnsafeBytes { try? fs.write(h, $0, at: 0) }
    }
}
