import Foundation

/// A child process started with `posix_spawn`, with pipes for its stdin, stdout and stderr.
///
/// Why not Foundation's `Process`: it waits for its children by itself (and would fight the
/// process-wide ``ChildReaper`` over exit statuses), runs monitoring threads of its own, and
/// gives no control over inherited descriptors or the child's process group.
///
/// What the child gets: exactly the given environment; the three pipes as 0, 1 and 2 and no
/// other descriptor of the worker (every descriptor from 3 up is closed in the child, whether
/// or not it was opened with CLOEXEC); default signal dispositions and an empty signal mask
/// (the worker ignores SIGPIPE, which would otherwise be inherited); its own process group,
/// so that signals reach whatever it starts itself.
struct ChildProcess: Sendable {
    let pid: pid_t
    /// The parent's ends: write to `stdin`, read `stdout` and `stderr`.
    let stdin: Int32
    let stdout: Int32
    let stderr: Int32

    struct SpawnError: Error, CustomStringConvertible {
        let description: String
    }

    /// Starts `command` in `directory` with `environment` (`NAME=value` entries), registered
    /// with the reaper so that `onExit` hears how it ended.
    static func spawn(
        command: [String], directory: String?, environment: [String],
        onExit: @escaping @Sendable (ExitStatus) -> Void
    ) throws(SpawnError) -> ChildProcess {
        guard let program = command.first else { throw SpawnError(description: "the command is empty") }
        let input = try makePipe(), output = try makePipe(), errors = try makePipe()
        let parentEnds = [input.write, output.read, errors.read]
        let childEnds = [input.read, output.write, errors.write]
        var pid: pid_t = 0
        do {
            pid = try ChildReaper.shared.spawn({ () throws(SpawnError) -> pid_t in
                try spawnProcess(program: program, command: command, directory: directory, environment: environment,
                                 stdin: input.read, stdout: output.write, stderr: errors.write)
            }, onExit: onExit)
        } catch {
            for fd in parentEnds + childEnds { close(fd) }
            throw error
        }
        for fd in childEnds { close(fd) }
        return ChildProcess(pid: pid, stdin: input.write, stdout: output.read, stderr: errors.read)
    }

    /// A pipe whose both ends close on exec, so that no other child inherits them.
    private static func makePipe() throws(SpawnError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard SpawnExtensions.pipeClosingOnExec(&fds) else {
            throw SpawnError(description: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        return (fds[0], fds[1])
    }

    private static func spawnProcess(
        program: String, command: [String], directory: String?, environment: [String],
        stdin: Int32, stdout: Int32, stderr: Int32
    ) throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears CLOEXEC on the copy, so only 0, 1 and 2 survive the exec.
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        guard SpawnExtensions.addCloseFrom(&actions, 3) else {
            throw SpawnError(description: "this C library cannot close inherited descriptors in posix_spawn (glibc 2.34 or later is needed)")
        }
        if let directory {
            guard SpawnExtensions.addChangeDirectory(&actions, directory) else {
                throw SpawnError(description: "this C library cannot set a working directory in posix_spawn (glibc 2.29 or later is needed)")
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        // posix_spawnp looks a bare name up on the worker's PATH (which the child shares).
        let result = program.contains("/")
            ? posix_spawn(&pid, program, &actions, &attributes, argv, envp)
            : posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
        guard result == 0 else {
            var message = "cannot start \(program): \(String(cString: strerror(result)))"
            if result == ENOENT, let directory { message += " (working directory \(directory))" }
            throw SpawnError(description: message)
        }
        return pid
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` and `..._addchdir_np`, looked up at run
/// time: they are declared only under `_GNU_SOURCE`, which Swift's Glibc module does not set.
enum SpawnExtensions {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }
    private static let changeDirectory: ChangeDirectory? = dlsym(nil, "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: ChangeDirectory.self) }

    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private static let pipe2: Pipe2? = dlsym(nil, "pipe2").map { unsafeBitCast($0, to: Pipe2.self) }

    /// `pipe2(O_CLOEXEC)`: both ends close on exec from the start, so a child spawned by
    /// another thread meanwhile cannot inherit them. Without pipe2, `pipe` then `fcntl`.
    static func pipeClosingOnExec(_ fds: inout [Int32]) -> Bool {
        if let pipe2 {
            return fds.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress.map { pipe2($0, O_CLOEXEC) == 0 } ?? false
            }
        }
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    static func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) -> Bool {
        closeFrom.map { $0(actions, lowest) == 0 } ?? false
    }

    static func addChangeDirectory(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Bool {
        guard let changeDirectory else { return false }
        return path.withCString { changeDirectory(actions, $0) == 0 }
    }
}
