// The only file of Strata that imports the C library. Every system call the engine and its tools
// make is a small wrapper here: files (through `PosixFileSystem`, the real `FileSystem`), mappings,
// the processor count, the calling thread, terminals, process exit and the math functions the
// sample-data generator needs.
import CStrataKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("Strata needs a POSIX C library (Glibc, Musl or Darwin)")
#endif

/// A read-only shared mapping of the first `count` bytes of a file. Its bytes are lent only inside
/// `withBytes`; the pointer never changes after init and is unmapped only in `deinit`, which is
/// why sharing the object between threads is safe (`@unchecked`: a raw pointer is not `Sendable`).
final class MappedRegion: @unchecked Sendable {
    private let base: UnsafeRawPointer?
    let count: Int

    /// Whether `base` is memory of our own (a copy), freed rather than unmapped.
    private let owned: Bool

    /// A descriptor of the mapped file, kept for `copy` (-1: none, as for a copy of bytes).
    private let fd: Int32
    /// One bit per `readPage` bytes of the region: set by `firstRead`.
    private let readPages: UnsafeMutablePointer<UInt64>?

    /// What `firstRead` tells apart: a block of more than a few rows is larger than a page, so a
    /// second read starting in one is mostly the same block again (a small block whose page
    /// another's read marked is read through the mapping).
    static let readPage = 1 << 12

    fileprivate init(base: UnsafeRawPointer?, count: Int, owned: Bool = false, fd: Int32 = -1) {
        self.base = base
        self.count = count
        self.owned = owned
        self.fd = fd
        if fd >= 0 {
            let words = (count / Self.readPage) / 64 + 1
            readPages = .allocate(capacity: words)
            readPages!.initialize(repeating: 0, count: words)
        } else {
            readPages = nil
        }
    }

    /// Whether this is the first read starting in the page of `offset`; marks it read. False for
    /// a region that cannot `copy`. A reader copies what it reads the first time (`BlockCopy`):
    /// a fresh process that reads a header or a few KB of each of hundreds or thousands of blocks
    /// pays a system call for each (about 1.2 us here for a header) instead of a page fault that
    /// maps the 16 pages around it (about 4.6 us); a query that reads them again (in-process)
    /// faults them in once through the mapping, and then pays nothing.
    func firstRead(at offset: Int) -> Bool {
        guard let readPages, offset >= 0, offset < count else { return false }
        return strata_set_bit_first(readPages, offset / Self.readPage) != 0
    }

    /// Copies the region's bytes at `offset` into `buffer` with pread(2); false when they do not
    /// lie inside the region or the copy fails.
    func copy(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Bool {
        guard fd >= 0, offset >= 0, buffer.count <= count - offset, let start = buffer.baseAddress else { return false }
        return pread(fd, start, buffer.count, off_t(offset)) == buffer.count
    }

    /// An empty mapping (a file of length 0 is not mapped).
    static let empty = MappedRegion(base: nil, count: 0)

    /// A region holding a copy of `bytes` (for tests and for parsing bytes that are not in a file).
    static func copying(_ bytes: [UInt8]) -> MappedRegion {
        if bytes.isEmpty { return .empty }
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return MappedRegion(base: UnsafeRawPointer(p), count: bytes.count, owned: true)
    }

    /// The little-endian integer at `offset`, which the caller has checked lies inside the region
    /// (a read outside it traps, naming the offset).
    @inline(__always)
    func load<T: FixedWidthInteger>(fromByteOffset offset: Int, as: T.Type) -> T {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size, let base else {
            Self.outside(offset, MemoryLayout<T>.size, count)
        }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    @inline(never)
    private static func outside(_ offset: Int, _ size: Int, _ count: Int) -> Never {
        fatalError("read of \(size) bytes at offset \(offset) outside a region of \(count) bytes")
    }

    /// Lends the mapped bytes to `body`; they must not be kept beyond it.
    @inline(__always)
    func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// A copy of the bytes in `range`, which must lie inside the region.
    func copyBytes(_ range: Range<Int>) -> [UInt8] {
        withBytes { Array($0[range]) }
    }

    /// Tells the kernel the mapping will be read front to back. The corresponding C function is
    /// `madvise(MADV_SEQUENTIAL)`.
    func adviseSequential() {
        if owned { return }
        if let base, count > 0 { _ = madvise(UnsafeMutableRawPointer(mutating: base), count, MADV_SEQUENTIAL) }
    }

    /// Drops the pages of [0, end) from this process (they stay in the page cache and fault back in
    /// if read again), so a long sequential read does not grow the resident set. The corresponding C
    /// function is `madvise(MADV_DONTNEED)`.
    func release(upTo end: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = min(end, count) / page * page
        if owned { return }
        if let base, length > 0 { _ = madvise(UnsafeMutableRawPointer(mutating: base), length, MADV_DONTNEED) }
    }

    deinit {
        if let readPages { readPages.deallocate() }
        if fd >= 0 { _ = System.close(fd) }
        guard let base, count > 0 else { return }
        if owned { UnsafeMutableRawPointer(mutating: base).deallocate() } else { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }
}

/// The real file system, through the C library.
package struct PosixFileSystem: FileSystem {
    private static func error(_ what: String, _ path: String) -> StrataError {
        let code = errno
        let text = String(cString: strerror(code))
        return StrataError(.io, "\(what) \(path) failed: \(text) (errno \(code))")
    }
    private func error(_ what: String, _ path: String) -> StrataError { Self.error(what, path) }

    func open(_ path: String, create: Bool, writable: Bool) throws(StrataError) -> OpenFile {
        var flags: Int32 = writable ? O_RDWR : O_RDONLY
        if create { flags |= O_CREAT }
        flags |= O_CLOEXEC
        let fd = System.open(path, flags, 0o644)
        if fd < 0 {
            if errno == ENOENT { throw StrataError(.badInput, "\(path) does not exist") }
            throw error("open", path)
        }
        return OpenFile(fd: fd, path: path)
    }

    func close(_ file: OpenFile) { _ = System.close(file.fd) }

    func size(_ file: OpenFile) throws(StrataError) -> UInt64 {
        var st = stat()
        if fstat(file.fd, &st) != 0 { throw error("fstat", file.path) }
        return UInt64(st.st_size)
    }

    func identity(_ file: OpenFile) throws(StrataError) -> FileIdentity {
        var st = stat()
        if fstat(file.fd, &st) != 0 { throw error("fstat", file.path) }
        return FileIdentity(device: UInt64(truncatingIfNeeded: st.st_dev), inode: UInt64(st.st_ino))
    }

    func identity(atPath path: String) -> FileIdentity? {
        var st = stat()
        if stat(path, &st) != 0 { return nil }
        return FileIdentity(device: UInt64(truncatingIfNeeded: st.st_dev), inode: UInt64(st.st_ino))
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

    /// Writes all of `bytes` at the descriptor's position (pipes and terminals have no offsets).
    static func writeSequential(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer) throws(StrataError) {
        var done = 0
        while done < bytes.count {
            let n = System.write(file.fd, bytes.baseAddress! + done, bytes.count - done)
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
        #if canImport(Darwin)
        // On Apple systems fsync does not reach the medium; F_FULLFSYNC does.
        if fcntl(file.fd, F_FULLFSYNC) != 0 && fsync(file.fd) != 0 { throw error("fsync", file.path) }
        #else
        if fdatasync(file.fd) != 0 { throw error("fdatasync", file.path) }
        #endif
    }

    func truncate(_ file: OpenFile, to length: UInt64) throws(StrataError) {
        if ftruncate(file.fd, off_t(length)) != 0 { throw error("ftruncate", file.path) }
    }

    func syncDirectory(_ path: String) throws(StrataError) {
        let fd = System.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw error("open directory", path) }
        defer { _ = System.close(fd) }
        if fsync(fd) != 0 { throw error("fsync directory", path) }
    }

    func makeDirectory(_ path: String) throws(StrataError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw error("mkdir", path) }
    }

    func removeDirectory(_ path: String) throws(StrataError) {
        if rmdir(path) != 0 && errno != ENOENT { throw error("rmdir", path) }
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
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    func remove(_ path: String) throws(StrataError) {
        if unlink(path) != 0 && errno != ENOENT { throw error("unlink", path) }
    }

    func rename(_ from: String, to: String) throws(StrataError) {
        if System.rename(from, to) != 0 { throw error("rename to \(to) of", from) }
    }

    func tryLock(_ file: OpenFile) throws(StrataError) -> Bool {
        if flock(file.fd, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw error("flock", file.path)
    }

    func map(_ file: OpenFile, length: Int) throws(StrataError) -> MappedRegion {
        if length == 0 { return .empty }
        let p = mmap(nil, length, PROT_READ, MAP_SHARED, file.fd, 0)
        if p == MAP_FAILED || p == nil { throw error("mmap", file.path) }
        // A descriptor of its own for `copy` (the caller closes `file`); none if the
        // process is out of descriptors: every read then goes through the mapping.
        return MappedRegion(base: UnsafeRawPointer(p!), count: length, fd: fcntl(file.fd, F_DUPFD_CLOEXEC, 0))
    }
}

/// The rest of what Strata asks of the operating system.
package enum System {
    // The C functions whose names the wrappers above shadow.
    fileprivate static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        #if canImport(Glibc)
        Glibc.open(path, flags, mode)
        #elseif canImport(Musl)
        Musl.open(path, flags, mode)
        #else
        Darwin.open(path, flags, mode)
        #endif
    }
    fileprivate static func close(_ fd: Int32) -> Int32 {
        #if canImport(Glibc)
        Glibc.close(fd)
        #elseif canImport(Musl)
        Musl.close(fd)
        #else
        Darwin.close(fd)
        #endif
    }
    fileprivate static func write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
        #if canImport(Glibc)
        Glibc.write(fd, p, n)
        #elseif canImport(Musl)
        Musl.write(fd, p, n)
        #else
        Darwin.write(fd, p, n)
        #endif
    }
    fileprivate static func rename(_ from: String, _ to: String) -> Int32 {
        #if canImport(Glibc)
        Glibc.rename(from, to)
        #elseif canImport(Musl)
        Musl.rename(from, to)
        #else
        Darwin.rename(from, to)
        #endif
    }

    /// Whether two byte ranges hold the same bytes. The corresponding C function is `memcmp`.
    static func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard let x = a.baseAddress, let y = b.baseAddress else { return true }
        return memcmp(x, y, a.count) == 0
    }

    /// Sleeps the calling thread. The corresponding C function is `nanosleep`.
    static func sleep(milliseconds: Int) {
        var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        _ = nanosleep(&request, nil)
    }

    /// Processors this process may run on (at least 1): its affinity mask's count (`sched_getaffinity`,
    /// so `taskset` and a container's cpuset are respected), else `sysconf(_SC_NPROCESSORS_ONLN)`.
    package static var processorCount: Int { max(1, Int(strata_available_processors())) }

    /// A number that identifies the calling thread while it runs. The corresponding C function is
    /// `pthread_self`.
    static func currentThread() -> UInt {
        #if canImport(Glibc)
        UInt(pthread_self())
        #else
        UInt(bitPattern: pthread_self())
        #endif
    }

    /// Whether the descriptor is a terminal. The corresponding C function is `isatty`.
    package static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }

    /// Reads what is there (up to the buffer's size) from a descriptor: the count, 0 at the end,
    /// nil on an error. Retried when a signal interrupts it. The corresponding C function is `read`.
    package static func read(_ fd: Int32, into buffer: inout [UInt8]) -> Int? {
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress, $0.count) }
            if n >= 0 { return n }
            if errno != EINTR { return nil }
        }
    }

    /// Has the C allocator keep freed memory for reuse instead of giving it back to the system
    /// after every large free: blocks up to 32 MB come from the heap (not a fresh mapping each), and
    /// the heap's top is trimmed only past 512 MB. For a short-lived process that allocates and
    /// frees column buffers in a loop (a window query over 29 M rows: 1.37 s -> 0.58 s, the rest
    /// was page faults). The heap is grown 80 MB at once and given transparent huge pages where the
    /// system has them (`madvise`): a fresh 4 KB page costs a fault of ~1.8 us here, a 2 MB one
    /// ~150 us, and a fresh `strata query`'s decode buffers were all fresh pages (a month of one
    /// symbol 0.42 -> 0.31 ms, its hourly bars 1.79 -> 1.32 ms; the process 0.3-1.3 ms shorter).
    /// Glibc only (`mallopt`, in C: Sources/CStrataKernels/strata_allocator.c).
    package static func keepFreedMemory() {
        strata_keep_freed_memory()
    }

    /// Starts the threads a query shares its work with (once a process; `Database.open` does it
    /// too), for a tool to call first thing: a thread takes a millisecond or more to come up in a
    /// fresh process, and started before the query is parsed and the database opened it is running
    /// by the first scan (the latest row of 500 symbols in a fresh `strata query`: 2.13 -> 1.97 ms, the
    /// median of six rounds of 31 processes).
    package static func startQueryThreads() {
        startHelpers()
    }

    /// This process's id. The corresponding C function is `getpid`.
    package static var processID: Int32 { getpid() }

    /// An environment variable. The corresponding C function is `getenv`.
    package static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Puts a terminal into raw mode (bytes as typed, no echo, no signals from keys) and returns
    /// the settings to restore, or nil when the descriptor is not a terminal. The C functions are
    /// `tcgetattr`, `cfmakeraw` and `tcsetattr`.
    package static func rawTerminal(_ fd: Int32) -> TerminalSettings? {
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        cfmakeraw(&raw)
        raw.c_oflag |= tcflag_t(OPOST)  // keep "\n" -> "\r\n" on output
        guard tcsetattr(fd, TCSADRAIN, &raw) == 0 else { return nil }  // keeps what was typed ahead
        return TerminalSettings(fd: fd, saved: saved)
    }
}

/// A terminal's settings before `System.rawTerminal`, put back by `restore`.
package struct TerminalSettings {
    let fd: Int32
    let saved: termios

    package func restore() {
        var s = saved
        _ = tcsetattr(fd, TCSADRAIN, &s)
    }
}

#if canImport(Glibc)
private func Glibc_read(_ fd: Int32, _ p: UnsafeMutableRawPointer?, _ n: Int) -> Int { Glibc.read(fd, p, n) }
#elseif canImport(Musl)
private func Glibc_read(_ fd: Int32, _ p: UnsafeMutableRawPointer?, _ n: Int) -> Int { Musl.read(fd, p, n) }
#else
private func Glibc_read(_ fd: Int32, _ p: UnsafeMutableRawPointer?, _ n: Int) -> Int { Darwin.read(fd, p, n) }
#endif

extension System {
    /// Ends the process with `code`. The corresponding C function is `exit`.
    package static func exit(_ code: Int32) -> Never {
        #if canImport(Glibc)
        Glibc.exit(code)
        #elseif canImport(Musl)
        Musl.exit(code)
        #else
        Darwin.exit(code)
        #endif
    }
}

/// The C math library, for the sample-data generator and the dialect's scalar functions.
package enum CMath {
    package static func log10(_ x: Double) -> Double {
        #if canImport(Glibc)
        Glibc.log10(x)
        #elseif canImport(Musl)
        Musl.log10(x)
        #else
        Darwin.log10(x)
        #endif
    }
    package static func exp(_ x: Double) -> Double {
        #if canImport(Glibc)
        Glibc.exp(x)
        #elseif canImport(Musl)
        Musl.exp(x)
        #else
        Darwin.exp(x)
        #endif
    }
    package static func log(_ x: Double) -> Double {
        #if canImport(Glibc)
        Glibc.log(x)
        #elseif canImport(Musl)
        Musl.log(x)
        #else
        Darwin.log(x)
        #endif
    }
    package static func cos(_ x: Double) -> Double {
        #if canImport(Glibc)
        Glibc.cos(x)
        #elseif canImport(Musl)
        Musl.cos(x)
        #else
        Darwin.cos(x)
        #endif
    }
    package static func pow(_ x: Double, _ y: Double) -> Double {
        #if canImport(Glibc)
        Glibc.pow(x, y)
        #elseif canImport(Musl)
        Musl.pow(x, y)
        #else
        Darwin.pow(x, y)
        #endif
    }
}

/// Waits for changes to the files of one directory without polling: inotify on Linux (the C
/// functions `inotify_init1`, `inotify_add_watch`, `poll` and `read`); elsewhere a check every 20 ms.
/// `wait` returns when something in the directory changed, or after `timeout` milliseconds.
final class DirectoryWatcher: @unchecked Sendable {
    #if canImport(Glibc)
    private let fd: Int32
    #endif

    init?(_ directory: String) {
        #if canImport(Glibc)
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if fd < 0 { return nil }
        let mask = UInt32(IN_MODIFY | IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE)
        if inotify_add_watch(fd, directory, mask) < 0 {
            Glibc.close(fd)
            return nil
        }
        #endif
    }

    /// True when a change was seen (its events are consumed), false on timeout.
    func wait(timeout: Int32) -> Bool {
        #if canImport(Glibc)
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeout) > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ Glibc.read(fd, $0.baseAddress, $0.count) }) > 0 {}
        return true
        #else
        usleep(20_000)
        return true
        #endif
    }

    deinit {
        #if canImport(Glibc)
        Glibc.close(fd)
        #endif
    }
}

/// A value guarded by a pthread mutex with priority inheritance: `Synchronization.Mutex`'s API (`withLock`,
/// `withLockIfAvailable`, typed throws), with a lock the Thread Sanitizer understands. Mutex's
/// contended path runs in the uninstrumented runtime, so under TSan two threads that queued on one
/// looked unordered, and the data it guards raced (two false reports in the whole suite: the
/// writer's manifest length, read by auto-compaction while a commit waited for the writer).
final class Lock<Value: ~Copyable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    init(_ value: consuming Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        // Priority inheritance, as Mutex has on Linux: the kernel hands the lock to a thread waiting
        // for it at unlock. A plain mutex lets the thread that unlocks take it straight back, and a
        // writer committing in a loop starved the background compaction waiting for the writer.
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_setprotocol(&attributes, Int32(PTHREAD_PRIO_INHERIT))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        // Fails only on a thread that holds it already (a priority-inheritance mutex says so rather
        // than deadlock); the callers never nest, and going on unlocked would be a silent race.
        let locked = pthread_mutex_lock(mutex)
        precondition(locked == 0, "Strata lock: pthread_mutex_lock failed (\(locked))")
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }

    /// Runs `body` when the lock is free now; nil when another thread holds it.
    func withLockIfAvailable<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
