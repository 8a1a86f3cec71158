/// The writer's side of an open database: the lock, the manifest and the data files it appends to.
/// Lives inside `Database`'s writer mutex; one transaction uses it at a time.
final class Writer {
    let fs: any FileSystem
    let directory: String
    private let lock: OpenFile
    private(set) var manifest: OpenFile
    var manifestLength: UInt64
    /// The version in the manifest's header (1 for databases written before version 2 existed).
    private(set) var manifestVersion: UInt32 = ManifestFormat.version
    /// Open handles of data files this writer appended to, by file id.
    private var dataFiles: [UInt32: OpenFile] = [:]
    let sealer = BlockSealer()
    /// Data files transactions do not append to: the auto-compactor's output files and the files it
    /// sealed (to empty them and drop them).
    var closedForAppend: Set<UInt32> = []
    /// File ids given out (perhaps not yet committed): new ones start at or above this.
    private var fileIDFloor: UInt32 = 1
    private var closed = false

    private init(fs: any FileSystem, directory: String, lock: OpenFile, manifest: OpenFile, manifestLength: UInt64) {
        self.fs = fs
        self.directory = directory
        self.lock = lock
        self.manifest = manifest
        self.manifestLength = manifestLength
    }

    /// Takes the writer lock, creates the database if asked to, and recovers from an interrupted commit:
    /// a torn manifest tail and uncommitted bytes at the end of data files are cut off, and data files
    /// no commit refers to are removed. No reader maps past a committed length, so this touches no
    /// byte a reader can see.
    static func open(path: String, options: DatabaseOptions, fs: any FileSystem) throws(StrataError) -> Writer {
        if !fs.exists(path) {
            guard options.create else { throw .badInput("\(path) does not exist") }
            try createDatabase(path, fs: fs)
        } else if !fs.isDirectory(path) {
            throw .badInput("\(path) is not a directory, so it cannot be a Strata database")
        }
        let manifestPath = path + "/" + ManifestFormat.fileName
        if !fs.exists(manifestPath) {
            let others = try fs.list(path).filter { $0 != "LOCK" }
            if !others.isEmpty {
                throw .badInput("\(path) is not a Strata database (no \(ManifestFormat.fileName)) and is not empty")
            }
            guard options.create else { throw .badInput("\(path) is not a Strata database (no \(ManifestFormat.fileName))") }
        }
        let lock = try fs.open(path + "/LOCK", create: true, writable: true)
        guard try takeLock(lock, fs: fs) else {
            fs.close(lock)
            throw StrataError(.locked, "database \(path) is locked by another writer")
        }
        do {
            if !fs.exists(manifestPath) {
                let m = try fs.open(manifestPath + ".new", create: true, writable: true)
                let header = ManifestCodec.fileHeader()
                try header.withBytes { (b) throws(StrataError) in try fs.write(m, b, at: 0) }
                try fs.sync(m)
                fs.close(m)
                try fs.rename(manifestPath + ".new", to: manifestPath)
                try fs.syncDirectory(path)
            }
            let manifest = try fs.open(manifestPath, create: false, writable: true)
            let w = Writer(fs: fs, directory: path, lock: lock, manifest: manifest, manifestLength: 0)
            try w.recover()
            var version = [UInt8](repeating: 0, count: 4)
            _ = try version.withMutableBytes { (b) throws(StrataError) in try fs.read(manifest, into: b, at: 8) }
            w.manifestVersion = try version.withBytes { (b) throws(StrataError) in
                var r = ByteReader(b, what: { manifestPath })
                return try r.u32()
            }
            return w
        } catch {
            fs.close(lock)
            throw error
        }
    }

    /// Creates a new database at `path` atomically: the directory and its empty manifest are made
    /// under a temporary name beside it, synced, and renamed into place, so a crash leaves either
    /// nothing at `path` or a valid empty database (never an empty directory).
    private static func createDatabase(_ path: String, fs: any FileSystem) throws(StrataError) {
        let temporary = siblingName(of: path, purpose: "creating")
        try fs.makeDirectory(temporary)
        do {
            let m = try fs.open(temporary + "/" + ManifestFormat.fileName, create: true, writable: true)
            defer { fs.close(m) }
            try ManifestCodec.fileHeader().withBytes { (b) throws(StrataError) in try fs.write(m, b, at: 0) }
            try fs.sync(m)
            try fs.syncDirectory(temporary)
            try fs.rename(temporary, to: path)
            try fs.syncDirectory(parentDirectory(of: path))
        } catch {
            try? fs.remove(temporary + "/" + ManifestFormat.fileName)
            try? fs.removeDirectory(temporary)
            throw error
        }
    }

    /// A hidden, unused name in the directory of `path`: `.<name>.<purpose>-<random>`.
    static func siblingName(of path: String, purpose: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        let base = p.split(separator: "/").last.map(String.init) ?? p
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        return parentDirectory(of: p) + "/." + base + "." + purpose + "-" + random
    }

    private func recover() throws(StrataError) {
        let path = directory + "/" + ManifestFormat.fileName
        let (catalog, offset, torn) = try Database.readManifest(fs: fs, path: path, from: 0, base: Catalog())
        let manifestSize = try fs.size(manifest)
        if torn != nil || manifestSize > offset {
            try fs.truncate(manifest, to: offset)
            try fs.sync(manifest)
        }
        manifestLength = offset
        var known = Set<String>()
        for file in catalog.files.values {
            let name = Catalog.dataFileName(file.id)
            known.insert(name)
            let h = try fs.open(directory + "/" + name, create: false, writable: true)
            defer { fs.close(h) }
            let size = try fs.size(h)
            if size < file.length {
                throw .damaged("\(directory)/\(name) is \(size) bytes but \(file.length) are committed: the file was truncated; run strata verify")
            }
            if size > file.length {
                try fs.truncate(h, to: file.length)
                try fs.sync(h)
            }
        }
        var removed = false
        for name in try fs.list(directory) where (name.hasPrefix("d") && name.hasSuffix(".sdf") && !known.contains(name)) || name == ManifestFormat.fileName + ".new" {
            try fs.remove(directory + "/" + name)
            removed = true
        }
        if removed { try fs.syncDirectory(directory) }
    }

    /// Takes the writer lock, trying for up to `Limits.lockWaitMilliseconds`: a handle closed a moment
    /// ago in this process can still hold it, through the copy of its descriptor that a child process
    /// being started at that moment (fork, then exec) carries until it execs.
    private static func takeLock(_ lock: OpenFile, fs: any FileSystem) throws(StrataError) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Limits.lockWaitMilliseconds)
        while true {
            if try fs.tryLock(lock) { return true }
            if ContinuousClock.now >= deadline { return false }
            System.sleep(milliseconds: 2)
        }
    }

    /// Upgrades an older manifest to this build's version in place (the header's version field,
    /// within its first sector, then a sync) before this build's first commit to it, whose blocks
    /// and entries older readers do not know.
    func upgradeManifest() throws(StrataError) {
        if manifestVersion >= ManifestFormat.version { return }
        var w = ByteWriter()
        w.u32(ManifestFormat.version)
        try w.bytes.withBytes { (b) throws(StrataError) in try fs.write(manifest, b, at: 8) }
        try fs.sync(manifest)
        manifestVersion = ManifestFormat.version
    }

    /// Replaces the manifest with `records` (a checkpoint): written to `MANIFEST.new`, synced, renamed
    /// over `MANIFEST` (the commit point), then the directory synced. Returns false when the rename
    /// happened but the directory sync failed: the new manifest is in place, but a power cut could still
    /// bring back the old one, so the caller must keep the files the old one names. Returns that error.
    func replaceManifest(_ records: [[UInt8]]) throws(StrataError) -> StrataError? {
        let path = directory + "/" + ManifestFormat.fileName
        let next = try fs.open(path + ".new", create: true, writable: true)
        var length = UInt64(0)
        do {
            try fs.truncate(next, to: 0)
            let header = ManifestCodec.fileHeader(checkpointRecords: records.count)
            for bytes in [header] + records {
                try bytes.withBytes { (b) throws(StrataError) in try fs.write(next, b, at: length) }
                length += UInt64(bytes.count)
            }
            try fs.sync(next)
            try fs.rename(path + ".new", to: path)
        } catch {
            fs.close(next)
            try? fs.remove(path + ".new")
            throw error
        }
        adoptManifest(next, length: length)  // the same file, under its new name
        do {
            try fs.syncDirectory(directory)
        } catch {
            return error
        }
        return nil
    }

    /// A file id no committed file and no file in the making has.
    func newFileID(_ catalog: Catalog) -> UInt32 {
        let id = max(catalog.nextFileID, fileIDFloor)
        fileIDFloor = id &+ 1
        return id
    }

    /// Appends a commit record of `entries` numbered `sequence` to the manifest and syncs it: the
    /// commit point of a transaction or of an auto-compaction round.
    func appendRecord(sequence: UInt64, entries: [ManifestEntry]) throws(StrataError) {
        try upgradeManifest()
        let bytes = ManifestCodec.encodeRecord(sequence: sequence, entries: entries)
        do throws(StrataError) {
            try bytes.withBytes { (raw) throws(StrataError) in try fs.write(manifest, raw, at: manifestLength) }
            try fs.sync(manifest)
        } catch {
            try? fs.truncate(manifest, to: manifestLength)  // not committed: no part of it may stay
            throw error
        }
        manifestLength += UInt64(bytes.count)
    }

    /// Takes `file` (synced, already renamed to `MANIFEST`) as the manifest, `length` bytes long.
    func adoptManifest(_ file: OpenFile, length: UInt64) {
        fs.close(manifest)
        manifest = OpenFile(fd: file.fd, path: directory + "/" + ManifestFormat.fileName)
        manifestLength = length
        manifestVersion = ManifestFormat.version
    }

    func handle(for file: UInt32, create: Bool) throws(StrataError) -> OpenFile {
        if let h = dataFiles[file] { return h }
        let h = try fs.open(directory + "/" + Catalog.dataFileName(file), create: create, writable: true)
        dataFiles[file] = h
        return h
    }

    func forget(_ file: UInt32) {
        if let h = dataFiles.removeValue(forKey: file) { fs.close(h) }
    }

    func close() {
        if closed { return }
        closed = true
        for h in dataFiles.values { fs.close(h) }
        dataFiles = [:]
        fs.close(manifest)
        fs.close(lock)  // closing the last descriptor releases the flock
    }

    static func parentDirectory(of path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        guard let slash = p.lastIndex(of: "/") else { return "." }
        return slash == p.startIndex ? "/" : String(p[..<slash])
    }
}

extension Database {
    /// Removes a database directory that holds no commit (only an empty manifest and the lock file),
    /// such as one a failed first import created. Anything else is left alone.
    public static func removeIfEmpty(_ path: String) { removeIfEmpty(path, fs: PosixFileSystem()) }

    static func removeIfEmpty(_ path: String, fs: any FileSystem) {
        guard let names = try? fs.list(path), Set(names).isSubset(of: [ManifestFormat.fileName, "LOCK"]) else { return }
        if let h = try? fs.open(path + "/" + ManifestFormat.fileName, create: false, writable: false) {
            let size = (try? fs.size(h)) ?? 0
            fs.close(h)
            if size > UInt64(ManifestFormat.fileHeaderBytes) { return }
        }
        // Renamed away first, so that an interrupted removal leaves no half-database at `path`.
        let doomed = Writer.siblingName(of: path, purpose: "removing")
        guard (try? fs.rename(path, to: doomed)) != nil else { return }
        try? fs.syncDirectory(Writer.parentDirectory(of: path))
        for name in names { try? fs.remove(doomed + "/" + name) }
        try? fs.removeDirectory(doomed)
    }
}
