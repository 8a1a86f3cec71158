#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// A read-only shared mapping. The pointer never changes after init and is unmapped only in
/// `deinit`, so sharing the object between threads is safe.
final class MappedRegion: @unchecked Sendable {
    let base: UnsafeRawPointer?
    let count: Int

    init(base: UnsafeRawPointer?, count: Int) {
        self.base = base
        self.count = count
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Tells the kernel the mapping will be read front to back.
    func adviseSequential() {
        if let base, count > 0 { _ = madvise(UnsafeMutableRawPointer(mutating: base), count, MADV_SEQUENTIAL) }
    }

    /// Drops the pages of [0, end) from this process (they stay in the page cache and fault back in
    /// if read again), so a long sequential read does not grow the resident set. The corresponding C
    /// function is `madvise(MADV_DONTNEED)`.
    func release(upTo end: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = min(end, count) / page * page
        if let base, length > 0 { _ = madvise(UnsafeMutableRawPointer(mutating: base), length, MADV_DONTNEED) }
    }

    deinit {
        if let base, count > 0 { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }
}

/// The real file system, through the C library.
struct PosixFileSystem: FileSystem {
    private func error(_ what: String, _ path: String) -> StrataError {
        let code = errno
        let text = String(cString: strerror(code))
        return StrataError(.io, "\(what) \(path) failed: \(text) (errno \(code))")
    }

    func open(_ path: String, create: Bool, writable: Bool) throws(StrataError) -> OpenFile {
        var flags: Int32 = writable ? O_RDWR : O_RDONLY
        if create { flags |= O_CREAT }
        flags |= O_CLOEXEC
        let fd = Glibc.open(path, flags, 0o644)
        if fd < 0 {
            if errno == ENOENT { throw StrataError(.badInput, "\(path) does not exist") }
            throw error("open", path)
        }
        return OpenFile(fd: fd, path: path)
    }

    func close(_ file: OpenFile) { _ = Glibc.close(file.fd) }

    func size(_ file: OpenFile) throws(StrataError) -> UInt64 {
        var st = stat()
        if fstat(file.fd, &st) != 0 { throw error("fstat", file.path) }
        return UInt64(st.st_size)
    }

    func identity(_ file: OpenFile) throws(StrataError) -> FileIdentity {
        var st = stat()
        if fstat(file.fd, &st) != 0 { throw error("fstat", file.path) }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    func identity(atPath path: String) -> FileIdentity? {
        var st = stat()
        if stat(path, &st) != 0 { return nil }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    func write(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(StrataError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(file.fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("write to", file.path)
            }
            done += n
        }
    }

    func read(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(StrataError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(file.fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("read from", file.path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    func sync(_ file: OpenFile) throws(StrataError) {
        if fdatasync(file.fd) != 0 { throw error("fdatasync", file.path) }
    }

    func truncate(_ file: OpenFile, to length: UInt64) throws(StrataError) {
        if ftruncate(file.fd, off_t(length)) != 0 { throw error("ftruncate", file.path) }
    }

    func syncDirectory(_ path: String) throws(StrataError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw error("open directory", path) }
        defer { _ = Glibc.close(fd) }
        if fsync(fd) != 0 { throw error("fsync directory", path) }
    }

    func makeDirectory(_ path: String) throws(StrataError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw error("mkdir", path) }
    }

    func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    func list(_ directory: String) throws(StrataError) -> [String] {
        guard let dir = opendir(directory) else { throw error("opendir", directory) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    func remove(_ path: String) throws(StrataError) {
        if unlink(path) != 0 && errno != ENOENT { throw error("unlink", path) }
    }

    func rename(_ from: String, to: String) throws(StrataError) {
        if Glibc.rename(from, to) != 0 { throw error("rename to \(to) of", from) }
    }

    func tryLock(_ file: OpenFile) throws(StrataError) -> Bool {
        if flock(file.fd, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw error("flock", file.path)
    }

    func map(_ file: OpenFile, length: Int) throws(StrataError) -> MappedRegion {
        if length == 0 { return MappedRegion(base: nil, count: 0) }
        let p = mmap(nil, length, PROT_READ, MAP_SHARED, file.fd, 0)
        if p == MAP_FAILED || p == nil { throw error("mmap", file.path) }
        return MappedRegion(base: UnsafeRawPointer(p!), count: length)
    }
}
