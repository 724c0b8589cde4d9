# hookd's prewarm zygote: one warm CPython per runbooks snapshot that forks a
# child per hook run instead of starting an interpreter each time.
#
# hookd starts `INTERPRETER -c BOOTSTRAP hookd-zygote COMMIT` (see zygote.cpp)
# with a SOCK_SEQPACKET socket as stdin and the environment a hook gets; the
# bootstrap receives this text as the first record and executes it with the
# socket as `control`. Records and the conversation: zygote_protocol.h.
#
# A child must not be able to tell it was forked: its environment, cwd, std
# descriptors, sys.argv, sys.path[0], __main__ and its exit status are what
# `INTERPRETER SCRIPT` would give it (child_main), and how it ends is what
# CPython's own shutdown does (finish), minus tearing down the modules the
# zygote preloaded (touching them all would copy every shared page).
import atexit
import builtins
import gc
import os
import signal
import socket
import struct
import sys
from importlib.machinery import SourceFileLoader

VERSION = 1
MAX_RECORD = 192 * 1024
LOAD, RUN, REAP = 1, 2, 3
READY, STARTED, FAILED, STATUS, ERROR = 16, 17, 18, 19, 20
(T_RUN_ID, T_SCRIPT, T_ARG, T_ENV, T_CWD, T_PARAM, T_PRELOAD, T_PID, T_STATUS, T_ERROR, T_NOTE,
 T_IMPLEMENTATION, T_VERSION, T_INTERPRETER) = range(1, 15)
HEADER = struct.Struct(">IBB")
FIELD = struct.Struct(">BI")
# The records that come and go once per run, packed and unpacked whole: the
# less Python the zygote runs between forks, the fewer pages it writes (and
# every page it writes while a child shares it is copied).
RUN_ID_ONLY = struct.Struct(">IBBBIQ")  # REAP: header, RUN_ID
RUN_ID_PID = struct.Struct(">IBBBIQBIQ")  # STARTED and STATUS: header, RUN_ID, PID or STATUS
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
MAX_NOTE = 1000
CMSG_ROOM = socket.CMSG_SPACE(8 * 4)  # a RUN's descriptors: 2 and up to 6 cgroup files


class ProtocolError(Exception):
    pass


class RunError(Exception):
    """A run that cannot start: FAILED, and nothing was forked."""


def encode(mtype, fields):
    body = bytearray()
    for tag, value in fields:
        if isinstance(value, int):
            value = value.to_bytes(8, "big")
        elif isinstance(value, str):
            value = value.encode("utf-8", "surrogateescape")
        body += FIELD.pack(tag, len(value))
        body += value
    return HEADER.pack(len(body) + 2, VERSION, mtype) + bytes(body)


def decode(record):
    if len(record) < HEADER.size:
        raise ProtocolError("record shorter than its header")
    length, version, mtype = HEADER.unpack_from(record)
    if length != len(record) - 4 or version != VERSION:
        raise ProtocolError("bad record header")
    fields = {}
    at = HEADER.size
    while at < len(record):
        if len(record) - at < FIELD.size:
            raise ProtocolError("field header cut short")
        tag, n = FIELD.unpack_from(record, at)
        at += FIELD.size
        if n > len(record) - at:
            raise ProtocolError("field longer than the record")
        fields.setdefault(tag, []).append(bytes(record[at:at + n]))
        at += n
    return mtype, fields


def one(fields, tag):
    values = fields.get(tag)
    if not values or len(values) != 1:
        raise ProtocolError("expected one field %d" % tag)
    return values[0]


def u64(fields, tag):
    value = one(fields, tag)
    if len(value) != 8:
        raise ProtocolError("field %d is not a u64" % tag)
    return int.from_bytes(value, "big")


class Zygote:
    def __init__(self, control):
        # The socket moves off fd 0, which becomes /dev/null like a run's.
        self.ctl = socket.socket(fileno=os.dup(control.detach()))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        for level, size in ((socket.SO_SNDBUF, 2 * MAX_RECORD), (socket.SO_RCVBUF, 2 * MAX_RECORD)):
            try:
                self.ctl.setsockopt(socket.SOL_SOCKET, level, size)
            except OSError:
                pass
        self.buffer = bytearray(MAX_RECORD + 1)
        self.buffers = [self.buffer]
        self.view = memoryview(self.buffer)
        self.children = {}  # run id -> pid, forked and not reaped
        self.unreaped = {}  # run id -> pid: REAP came before the exit was visible
        self.compiled = {}  # script path (bytes) -> code object
        self.script_dirs = {}  # script path (bytes) -> sys.path[0] for it
        # Script path (bytes) -> PreparedScript: what a child needs of its
        # script, made once instead of in every child.
        self.scripts = {}
        # Every run of a snapshot carries the same parameters: parsed once.
        self.parsed_params = {}
        self.path0 = False  # sys.path[0] is a run's to set (the bootstrap took '' out)
        self.startup_env = {}
        self.interpreter = ""
        self.libc = None
        self.prctl = None
        self.entered = None  # the PreparedScript enter() set up last

    # ---------------------------------------------------------------- I/O

    def send(self, mtype, fields, fds=()):
        record = encode(mtype, fields)
        if fds:
            self.ctl.sendmsg([record], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                         struct.pack("%di" % len(fds), *fds))])
        else:
            self.ctl.sendmsg([record])

    def receive(self):
        """(record, fds); record None at the end of the stream."""
        # Into one buffer, with objects made once: every page the zygote
        # writes after a fork is copied while a child still shares it.
        n, ancillary, flags, _ = self.ctl.recvmsg_into(self.buffers, CMSG_ROOM,
                                                       socket.MSG_CMSG_CLOEXEC)
        fds = []
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(memoryview(payload)[:len(payload) - len(payload) % 4].cast("i"))
        if not n and not fds:
            return None, []
        if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
            for fd in fds:
                os.close(fd)
            raise ProtocolError("record too large")
        return self.view[:n], fds

    # --------------------------------------------------------------- load

    def load(self, fields):
        self.interpreter = os.fsdecode(one(fields, T_INTERPRETER))
        given = dict(e.partition(b"=")[::2] for e in fields.get(T_ENV, []))
        # hookd starts the zygote with LD_BIND_NOW (the loader read it at
        # start-up: every symbol bound once, not in each child); unless it is
        # the hooks' own, neither a run nor what it starts may see it.
        if b"LD_BIND_NOW" not in given:
            os.environb.pop(b"LD_BIND_NOW", None)
        # What the interpreter set at start-up (PEP 538 locale coercion)
        # it sets in every spawned run too.
        self.startup_env = {k: v for k, v in os.environb.items() if given.get(k) != v}
        missing = [n for n in ("fork", "pidfd_open", "setpgid") if not hasattr(os, n)]
        if sys.implementation.name != "cpython" or missing:
            self.send(READY, [(T_ERROR, "%s %s cannot be a zygote%s" % (
                sys.implementation.name, sys.version.split()[0],
                " (no os.%s)" % ", os.".join(missing) if missing else ""))])
            return False
        scripts = fields.get(T_SCRIPT, [])
        if path0 and scripts:  # noqa: F821 (the bootstrap's)
            # Imported as a spawned run imports them: from its script's
            # directory first (the snapshot's scripts share one).
            sys.path.insert(0, os.path.dirname(os.path.realpath(os.fsdecode(scripts[0]))))
            self.path0 = True
        notes = []
        for name in fields.get(T_PRELOAD, []):
            try:
                __import__(os.fsdecode(name))
            except BaseException as e:  # a broken module must not stop the others
                notes.append("preload %s: %s: %s" % (os.fsdecode(name), type(e).__name__, e))
        import warnings
        for path in scripts:
            try:
                with open(path, "rb") as f:
                    source = f.read()
                # A script whose compilation says anything at all runs with
                # spawn, which says it exactly as the interpreter does.
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    self.compiled[path] = compile(source, os.fsdecode(path), "exec",
                                                  dont_inherit=True)
                # The interpreter's sys.path[0] for a script: its real directory.
                self.script_dirs[path] = os.path.dirname(os.path.realpath(os.fsdecode(path)))
            except BaseException as e:
                notes.append("%s: %s: %s" % (os.fsdecode(path), type(e).__name__, e))
        for path, code in self.compiled.items():
            script = os.fsdecode(path)
            self.scripts[path] = PreparedScript(code, self.script_dirs[path],
                                                [self.interpreter, script], new_main(script))
        # A run's environment is exactly its own (child()): the zygote's goes
        # now, once, instead of by every child (its C environment and
        # os.environ, which nothing of the zygote's reads after this).
        for name in tuple(os.environ._data):
            os.unsetenv(name)
        os.environ._data.clear()
        self.harden()
        gc.collect()
        # Objects that exist now are never collected: a child's collections
        # do not touch (and so copy) the zygote's pages.
        gc.freeze()
        ready = [(T_PID, os.getpid()), (T_IMPLEMENTATION, sys.implementation.name),
                 (T_VERSION, sys.version.split()[0])]
        budget = MAX_RECORD - 4096
        for path in self.compiled:
            budget -= len(path) + FIELD.size
            if budget < 0:
                break
            ready.append((T_SCRIPT, path))
        for note in notes:
            note = note[:MAX_NOTE]
            budget -= len(note.encode("utf-8", "surrogateescape")) + FIELD.size
            if budget < 0:
                break
            ready.append((T_NOTE, note))
        self.send(READY, ready)
        # From here on the zygote writes nothing to stdout or stderr: no
        # buffered byte of its own is copied into a child.
        flush_stdio()
        return True

    def harden(self):
        # Not dumpable: a hook running as the same user cannot ptrace the
        # zygote or read its memory, so it cannot reach into later runs.
        # Each child makes itself dumpable again, as a spawned run is.
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0:
                self.libc = libc
                self.prctl = libc.prctl
        except Exception:
            pass

    # ---------------------------------------------------------------- run

    def run(self, fields, fds):
        run_id = u64(fields, T_RUN_ID)
        try:
            params = self.params_of(fields.get(T_PARAM, ()))
            if len(fds) != 2 + params.cgroup_fds:
                raise RunError("expected %d descriptors, got %d" % (2 + params.cgroup_fds, len(fds)))
            if self.libc is None and params.needs_prctl:
                raise RunError("prctl is not available to this zygote")
            script = one(fields, T_SCRIPT)
            known = self.scripts.get(script)
            if known is None:
                raise RunError("script not loaded: %s" % os.fsdecode(script))
            if known is not self.entered:
                self.enter(known)
            # A cwd that is not there fails in the child, which says so.
            try:
                pid = os.fork()
            except OSError as e:
                raise RunError("fork: %s" % e)
        except RunError as e:
            self.send(FAILED, [(T_RUN_ID, run_id), (T_ERROR, str(e))])
            return
        if pid == 0:
            try:
                self.child(run_id, known, fields, params, fds)
            finally:
                os._exit(127)
        # The child reports itself (STARTED or FAILED) and the zygote stays
        # its parent until hookd asks for the reap: the less the zygote does
        # while a child shares its pages, the fewer get copied.
        self.children[run_id] = pid

    def params_of(self, entries):
        key = tuple(entries)
        params = self.parsed_params.get(key)
        if params is None:
            params = RunParams(parse_params(entries))
            if len(self.parsed_params) < 16:
                self.parsed_params[key] = params
        return params

    def enter(self, known):
        """Makes what a run of `known` finds at its start (sys.argv,
        sys.orig_argv, sys.path[0], sys.modules["__main__"]) the zygote's
        own: a child of the same script as the last one writes none of it."""
        sys.orig_argv = known.orig_argv
        sys.argv = known.orig_argv[1:]
        if self.path0:
            sys.path[0] = known.path0
        sys.modules["__main__"] = known.main
        self.entered = known

    def reap(self, run_id):
        pid = self.children.pop(run_id, None)
        if pid is None:
            self.send(STATUS, [(T_RUN_ID, run_id), (T_ERROR, "no such run")])
            return
        self.unreaped[run_id] = pid
        self.reap_exited()

    def reap_exited(self):
        for run_id, pid in list(self.unreaped.items()):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                del self.unreaped[run_id]
                self.send(STATUS, [(T_RUN_ID, run_id), (T_ERROR, "not a child")])
                continue
            if done:
                del self.unreaped[run_id]
                self.ctl.sendmsg([RUN_ID_PID.pack(RUN_ID_PID.size - 4, VERSION, STATUS, T_RUN_ID, 8,
                                                  run_id, T_STATUS, 8, status)])

    def serve(self):
        timeout = None
        while True:
            # hookd asks for a reap once the child's pidfd is readable, which
            # may be a moment before waitpid sees it: poll for those briefly.
            wanted = 0.002 if self.unreaped else None
            if wanted != timeout:
                self.ctl.settimeout(wanted)
                timeout = wanted
            fds = []
            try:
                record, fds = self.receive()
                if record is None:
                    return  # hookd is done with this zygote
                if len(record) == RUN_ID_ONLY.size and not fds:
                    length, version, mtype, tag, n, run_id = RUN_ID_ONLY.unpack(record)
                    if (length, version, mtype, tag, n) == (RUN_ID_ONLY.size - 4, VERSION, REAP,
                                                             T_RUN_ID, 8):
                        self.reap(run_id)
                        continue
                mtype, fields = decode(record)
                if mtype == RUN:
                    self.run(fields, fds)
                elif mtype == REAP:
                    self.reap(u64(fields, T_RUN_ID))
                else:
                    raise ProtocolError("unexpected message type %d" % mtype)
            except socket.timeout:
                self.reap_exited()
            except ProtocolError as e:
                self.send(ERROR, [(T_ERROR, str(e))])
                return
            finally:
                for fd in fds:
                    os.close(fd)

    # -------------------------------------------------------------- child

    def child(self, run_id, known, fields, params, fds):
        """The forked child. Never returns."""
        # Every object this touches is a page copied from the zygote: it
        # uses what the zygote prepared (self.scripts, RunParams, enter())
        # and as few other objects as it can.
        try:
            if self.prctl is not None:
                self.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
            if params.session:
                os.setsid()  # a contained run leads its own session, as spawned
            else:
                os.setpgid(0, 0)
            os.dup2(fds[0], 0)
            os.dup2(fds[1], 1)
            os.dup2(fds[1], 2)
            apply_params(params, one(fields, T_CWD), fds, self.prctl)
            # Opened by the process itself, so certainly of this process; and
            # the script runs only once hookd knows of it.
            pid = os.getpid()
            pidfd = os.pidfd_open(pid)
            self.ctl.sendmsg([RUN_ID_PID.pack(RUN_ID_PID.size - 4, VERSION, STARTED, T_RUN_ID, 8,
                                              run_id, T_PID, 8, pid)],
                             [(socket.SOL_SOCKET, socket.SCM_RIGHTS, pidfd.to_bytes(4, sys.byteorder))])
        except BaseException as e:
            try:
                self.send(FAILED, [(T_RUN_ID, run_id), (T_PID, os.getpid()), (T_ERROR, str(e))])
            finally:
                os._exit(127)
        try:
            self.ctl.detach()  # closed below; nothing must close that number again
            os.closerange(3, 1 << 20)
        except BaseException:
            os._exit(127)
        # os.environ and os.environb share this dict; the C environment is
        # changed with it, as their own methods would (and subprocesses see it).
        # It starts empty: the zygote cleared its own at LOAD (and should
        # anything have set a name since, it goes here).
        data = os.environ._data
        if data:
            for name in tuple(data):
                os.unsetenv(name)
            data.clear()
        for entry in fields.get(T_ENV, ()):
            name, _, value = entry.partition(b"=")
            os.putenv(name, value)
            data[name] = value
        for name, value in self.startup_env.items():
            os.putenv(name, value)
            data[name] = value
        args = fields.get(T_ARG, ())
        if len(args) != 1 or args[0] != one(fields, T_SCRIPT):  # else enter() set them
            sys.argv = [os.fsdecode(a) for a in args]
            sys.orig_argv = [self.interpreter] + sys.argv
        run_main(known.code, known.main)


class PreparedScript:
    """What a child needs of its script, made once by the zygote: the code,
    sys.path[0], sys.orig_argv of a run without arguments, and its __main__
    before it runs (every child runs in a copy of its own)."""

    __slots__ = ("code", "path0", "orig_argv", "main")

    def __init__(self, code, path0, orig_argv, main):
        self.code, self.path0, self.orig_argv, self.main = code, path0, orig_argv, main


class RunParams:
    """A RUN's parameters as parse_params made them, with what the zygote
    checks before a fork and the child applies after it, decided once."""

    __slots__ = ("steps", "session", "cgroup_fds", "needs_prctl")

    def __init__(self, params):
        self.session = any(w == "session" for o, w, v in params)
        self.cgroup_fds = next((v for o, w, v in params if w == "cgroup.fds"), 0)
        self.needs_prctl = any(w in ("subreaper", "no_new_privs") for o, w, v in params)
        self.steps = tuple((o, w, v) for o, w, v in params if o != -1)


def parse_params(entries):
    params = []
    for entry in entries:
        name, eq, value = os.fsdecode(entry).partition("=")
        if not eq:
            raise RunError("bad run parameter %r" % name)
        if name == "session" and value == "1":
            params.append((-1, name, True))
        elif name == "cgroup":
            params.append((0, name, value))
        elif name == "cgroup.fds":
            if not value.isdigit() or int(value) > 6:
                raise RunError("bad run parameter %r" % entry)
            params.append((0, name, int(value)))
        elif name in ("subreaper", "no_new_privs") and value == "1":
            params.append((1.5, name, True))
        elif name.startswith("rlimit."):
            import resource
            which = getattr(resource, "RLIMIT_" + name[len("rlimit."):], None)
            soft, colon, hard = value.partition(":")
            if which is None or not colon:
                raise RunError("bad run parameter %r" % entry)
            try:
                limits = tuple(resource.RLIM_INFINITY if v == "inf" else int(v) for v in (soft, hard))
            except ValueError:
                raise RunError("bad run parameter %r" % entry) from None
            params.append((1, which, (resource.setrlimit, limits)))
        elif name in ("groups", "gid", "uid"):
            try:
                ids = [int(v) for v in value.split(",")] if value else []
            except ValueError:
                raise RunError("bad run parameter %r" % entry) from None
            if name != "groups" and len(ids) != 1:
                raise RunError("bad run parameter %r" % entry)
            params.append(({"groups": 2, "gid": 3, "uid": 4}[name], name, ids))
        else:
            raise RunError("unknown run parameter %r" % name)
    params.sort(key=lambda p: p[0])
    return params


def apply_params(params, cwd, fds, prctl):
    """In the child, in ChildSetup's order: the cgroups (hookd's open
    cgroup.procs files, after the first two descriptors, or directories),
    the limits, subreaper and no_new_privs, the cwd, then who it runs as."""
    chdir_done = False
    for order, what, value in params.steps:
        if order >= 2 and not chdir_done:
            os.chdir(cwd)
            chdir_done = True
        if what == "cgroup.fds":
            # Checked against hookd's credentials, which opened them.
            for fd in fds[2:]:
                os.write(fd, b"0")
        elif order == 0:
            with open(os.path.join(value, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        elif order == 1.5:
            option = PR_SET_CHILD_SUBREAPER if what == "subreaper" else PR_SET_NO_NEW_PRIVS
            if prctl(option, 1, 0, 0, 0) != 0:
                import ctypes
                raise OSError(ctypes.get_errno(), "prctl(%s)" % what)
        elif order == 1:
            setrlimit, limits = value
            setrlimit(what, limits)
        elif what == "groups":
            os.setgroups(value)
        elif what == "gid":
            os.setgid(value[0])
        else:
            os.setuid(value[0])
    if not chdir_done:
        os.chdir(cwd)


def flush_stdio():
    for stream in (sys.stderr, sys.stdout):
        try:
            stream.flush()
        except Exception:
            pass


# ------------------------------------------------- the script, as __main__

def new_main(script):
    """The __main__ module `python SCRIPT` runs the file in, before it runs.
    The zygote makes one per script; each child runs in its own copy."""
    main = type(sys)("__main__")
    namespace = main.__dict__
    namespace["__loader__"] = SourceFileLoader("__main__", script)
    namespace["__annotations__"] = {}
    namespace["__builtins__"] = builtins
    namespace["__file__"] = script
    namespace["__cached__"] = None
    return main


def run_main(code, main):
    """Runs the code object as `python SCRIPT` runs the file, then ends the
    process the way the interpreter would have."""
    namespace = main.__dict__
    if sys.modules.get("__main__") is not main:  # enter() sets it before the fork
        sys.modules["__main__"] = main
    # Modules imported from here on are the run's own (sys.modules keeps
    # insertion order); the zygote's are not torn down.
    preloaded = len(sys.modules)
    exit_code, interrupted, error = 0, False, None
    try:
        exec(code, namespace)
    except BaseException as e:
        error = e
    # As the interpreter does before it reports how the script ended.
    flush_stdio()
    if isinstance(error, SystemExit):
        exit_code = system_exit_code(error)
    elif error is not None:
        # The traceback starts at the script, as the interpreter's does.
        tb = error.__traceback__.tb_next if error.__traceback__ is not None else None
        error.__traceback__ = tb
        sys.last_type, sys.last_value, sys.last_traceback = type(error), error, tb
        try:
            sys.excepthook(type(error), error, tb)
        except BaseException:
            pass
        exit_code, interrupted = 1, isinstance(error, KeyboardInterrupt)
    error = None
    newest_first = reversed(sys.modules)
    finish(exit_code, interrupted,
           [next(newest_first) for _ in range(max(0, len(sys.modules) - preloaded))])


def system_exit_code(e):
    """What CPython's handling of an uncaught SystemExit makes of it."""
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if -(1 << 63) <= code < (1 << 63) else 0xFF
    try:
        if sys.stderr is not None:
            sys.stderr.write(str(code))
            sys.stderr.write("\n")
        else:
            os.write(2, ("%s\n" % code).encode())
    except BaseException:
        pass
    return 1


def finish(exit_code, interrupted, imported):
    # `imported`: the run's own modules, the last imported first.
    """CPython's shutdown as a script sees it: non-daemon threads joined,
    atexit handlers, stdio flushed (exit status 120 when that fails), the
    script's own modules cleared so finalizers run and files get flushed."""
    threading = sys.modules.get("threading")
    # Only when the run started threads (or registered their exit hooks):
    # otherwise it has nothing to wait for, and costs copied pages.
    if threading is not None and (len(threading._active) > 1 or threading._limbo or
                                  threading._threading_atexits):
        try:
            threading._shutdown()
        except BaseException as e:
            unraisable(threading, e)
    atexit._run_exitfuncs()
    failed = flush_std_files(set())
    gc.collect()
    for name in ["__main__"] + imported:
        module = sys.modules.get(name)
        if module is not None:
            clear_module(module)
    gc.collect()
    # What finalizers printed; a stream that failed before is not reported twice.
    failed |= flush_std_files(failed)
    if failed:
        exit_code = 120
    if interrupted:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(exit_code)


def flush_std_files(quiet):
    """The names of the streams whose flush failed."""
    failed = set()
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        if stream is None or getattr(stream, "closed", False):
            continue
        try:
            stream.flush()
        except BaseException as e:
            if name not in quiet:
                unraisable(stream, e)
            failed.add(name)
    return failed


def unraisable(obj, e):
    """CPython's 'Exception ignored in:' report."""
    try:
        import traceback
        text = "Exception ignored in: %r\n" % (obj,)
        # As from C: no Python frame of the zygote's in the report.
        text += "".join(traceback.format_exception_only(type(e), e))
        if sys.stderr is not None and not getattr(sys.stderr, "closed", False):
            sys.stderr.write(text)
            sys.stderr.flush()
        else:
            os.write(2, text.encode("utf-8", "backslashreplace"))
    except BaseException:
        pass


def clear_module(module):
    """As the interpreter clears a module at shutdown: names starting with
    one underscore first, then the rest, never __builtins__."""
    namespace = module.__dict__
    for pass_ in (0, 1):
        for name in list(namespace):
            if name == "__builtins__" or not isinstance(name, str):
                continue
            single = name.startswith("_") and not name.startswith("__")
            if (pass_ == 0) == single:
                namespace[name] = None


def main(control):
    zygote = Zygote(control)
    record, fds = zygote.receive()
    for fd in fds:
        os.close(fd)
    if record is None:
        return
    mtype, fields = decode(record)
    if mtype != LOAD:
        zygote.send(ERROR, [(T_ERROR, "expected LOAD")])
        return
    if zygote.load(fields):
        zygote.serve()


try:
    main(control)  # noqa: F821 (the bootstrap's)
except BaseException:
    import traceback
    traceback.print_exc()  # hookd logs the zygote's output when it ends
finally:
    flush_stdio()
    os._exit(0)
