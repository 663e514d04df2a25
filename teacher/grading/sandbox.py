"""Running one untrusted program in a bubblewrap sandbox, with limits on the whole of it.

What the sandboxed program gets (:func:`bwrap_argv`):

* its own user, PID, network, IPC, UTS, mount and cgroup namespaces: it sees
  its own processes only (signals to anything else fail), has no network (not
  even the host's loopback), cannot make user namespaces of its own;
* a read-only view of the system (``/usr``, without ``/usr/local``), of the
  Python environment (the venv and the Python it was made from) and of the
  folders the caller names (:class:`Mount`), nothing else: no home, no
  ``/etc``, no repository;
* a private writable scratch folder ``/tmp`` (and ``/dev/shm``), in memory,
  of a fixed size, discarded when the sandbox ends; the rest of ``/dev`` (a
  tmpfs bubblewrap makes, with no size limit of its own) is read-only, so no
  file written there can hold the host's memory;
* a seccomp filter (:func:`seccomp_filter`) that refuses the calls whose memory
  no process's RSS shows: ``memfd_create``; System V shared memory, message
  queues and semaphores (``shmget``, ``msgget``, ``semget``: the IPC namespace
  allows 32000 message queues of 16 KB each) and POSIX message queues
  (``mq_open``); and ``socket``/``socketpair``, whose send buffers are kernel
  memory (120 socket pairs with raised ``SO_SNDBUF`` held 2 GB; the sandbox
  has no network anyway, and notebooks 03-07 and IPython run without a
  socket). Pipe buffers stay allowed: the kernel caps them per user
  (``fs.pipe-user-pages-soft``). A few other calls only widen the kernel's
  attack surface (``ptrace``, ``bpf``, ``io_uring``...).

Limits (:class:`Limits`) hold for the whole sandbox, not per process. The
kernel enforces the per-process ones (address space, CPU seconds, file size,
open files, process count) from rlimits set before bubblewrap starts; a
watchdog in the caller's thread (:meth:`Sandbox.run`) polls every process in
the sandbox's PID namespace every 25 ms and stops the sandbox when their
summed resident memory (confirmed by the proportional set size, which counts
memory shared after ``fork()`` once), their summed CPU time, the wall time,
the bytes written to stdout and stderr, or the result bytes pass the limit.
Stopping is ``SIGKILL`` to the namespace's first process: the kernel then
ends every process in it, daemons and double forks included, and every pipe
reaches end-of-file. cgroups would do the memory sum in the kernel (kernel
memory included), but their memory controller is not available to an
ordinary user (v1) or not enabled (v2) on many machines (on the machine this
was written on, cgroup2 has only ``hugetlb``): the sandbox does not use
cgroups; the watchdog works the same everywhere, and what no RSS shows is
refused by the seccomp filter and the read-only ``/dev`` instead.

Identity: a root caller never runs the sandbox as host uid 0 (that uid may
write global sysctls through ``/proc/sys`` and is exempt from the process
limit): each of its concurrent slots gets a host uid of its own from
:data:`SLOT_UID_BASE` on (no such user needs to exist). An ordinary caller's
sandboxes run as itself. The limits, the private mount that makes a Python
under ``/root`` reachable, and the switch of user happen in
``_launch.py``, a fresh process that then executes bwrap.

bubblewrap is the sandbox Flatpak uses (Debian/Ubuntu package ``bubblewrap``);
libseccomp (package ``libseccomp2``, on every systemd machine) compiles the
filter. :func:`check_available` says, in one sentence each, why a machine
cannot run the sandbox and what to do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import os
import pwd
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SandboxUnavailable", "Limits", "Mount", "Outcome", "Sandbox", "Unconfined", "check_available", "seccomp_filter",
           "SLOT_UID_BASE", "RESULT_FD", "STOPPED", "reachable_by_others"]

#: Host uids of a root caller's sandboxes: slot k runs as SLOT_UID_BASE + k (skipping uids in use).
SLOT_UID_BASE = 60001
#: Inside the sandbox every process is this user and group.
INSIDE_UID = 1000
#: Refused with EPERM inside the sandbox (names libseccomp does not know on this machine are skipped).
DENIED_CALLS = ("memfd_create", "memfd_secret", "shmget", "msgget", "semget", "mq_open", "socket", "socketpair",
                "userfaultfd", "perf_event_open", "bpf",
                "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key",
                "ptrace", "process_vm_readv", "process_vm_writev", "personality", "mount", "umount2",
                "pivot_root", "unshare", "setns", "kexec_load", "kexec_file_load", "init_module",
                "finit_module", "delete_module", "open_by_handle_at", "name_to_handle_at")
#: Why a run ended when :meth:`Sandbox.stop_all` stopped it.
STOPPED = "grading was stopped"
#: In a command given to :meth:`Sandbox.run`, stands for the result pipe's file descriptor number.
RESULT_FD = "{result_fd}"
_POLL = 0.025              # seconds between two looks at the sandbox's processes
_OUTPUT_TAIL = 4096        # bytes of stdout/stderr kept, for the caller's diagnostics only
_LAUNCH = Path(__file__).with_name("_launch.py")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


class SandboxUnavailable(RuntimeError):
    """This machine cannot run the sandbox: the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use, in all (seconds, bytes, processes)."""

    wall: float = 60.0
    cpu: float = 60.0
    memory: int = 2 * 2**30
    processes: int = 64
    file_size: int = 64 * 2**20
    open_files: int = 256
    output: int = 16 * 2**20
    result: int = 2**20
    scratch: int = 256 * 2**20
    shm: int = 64 * 2**20

    def __post_init__(self):
        for name in ("wall", "cpu"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value < float("inf")):
                raise ValueError(f"Limits.{name} must be a positive, finite number of seconds; got {value!r}")
        for name in ("memory", "processes", "file_size", "open_files", "output", "result", "scratch", "shm"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value > 0):
                raise ValueError(f"Limits.{name} must be a positive integer; got {value!r}")


@dataclass(frozen=True)
class Mount:
    """A host folder or file shown read-only at ``dest`` inside the sandbox."""

    source: str
    dest: str


@dataclass
class Outcome:
    """How a sandboxed run ended.

    ``stopped`` says which limit stopped it ('wall time', 'memory', ...) or is
    None; ``result`` is what the program wrote to fd 3 (at most ``Limits.result``
    bytes); ``output_tail`` the last bytes of its stdout and stderr, for the
    caller's diagnostics (never for feedback: the program chose them).
    """

    returncode: int | None
    result: bytes
    stopped: str | None
    wall: float
    cpu: float
    peak_memory: int
    peak_processes: int
    output_bytes: int
    output_tail: bytes = b""


# ------------------------------------------------------------------ is the sandbox possible here?


def _libseccomp():
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def seccomp_filter(fd: int, denied=DENIED_CALLS) -> int:
    """Write to ``fd`` a seccomp BPF program that refuses ``denied`` with EPERM; returns how many it refuses.

    Compiled by libseccomp (through ctypes: its Python binding is not on PyPI),
    which also refuses system calls of a foreign ABI (i386 ``int 0x80``, x32)
    so the list cannot be bypassed through them.
    """
    lib = _libseccomp()
    if lib is None:
        raise SandboxUnavailable("libseccomp is not installed: install it (Debian/Ubuntu: apt-get install libseccomp2)")
    ctx = lib.seccomp_init(0x7FFF0000)  # SCMP_ACT_ALLOW by default
    if not ctx:
        raise SandboxUnavailable("libseccomp could not start a filter (seccomp_init failed)")
    try:
        count = 0
        for name in denied:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:
                continue  # not a system call on this architecture
            if lib.seccomp_rule_add(ctx, 0x00050000 | errno.EPERM, number, 0) != 0:
                raise SandboxUnavailable(f"libseccomp refused a rule for {name}")
            count += 1
        if lib.seccomp_export_bpf(ctx, fd) != 0:
            raise SandboxUnavailable("libseccomp could not write the filter (seccomp_export_bpf failed)")
        return count
    finally:
        lib.seccomp_release(ctx)


def check_available() -> str:
    """The path of bwrap, or :class:`SandboxUnavailable` saying why this machine cannot sandbox and what to do."""
    elsewhere = ("grade on a Linux machine or JupyterHub that has it, or pass --no-sandbox to grade hand-ins you "
                 "trust (their code then runs as you, with your files in reach)")
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(f"the grading sandbox (bubblewrap) runs on Linux only, not {sys.platform}: {elsewhere}")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed: install it (Debian/Ubuntu: sudo apt-get "
                                 f"install bubblewrap; Fedora: sudo dnf install bubblewrap), or {elsewhere}")
    if _libseccomp() is None:
        raise SandboxUnavailable(f"libseccomp is not installed: install it (Debian/Ubuntu: sudo apt-get install "
                                 f"libseccomp2), or {elsewhere}")
    return bwrap


def reachable_by_others(path) -> bool:
    """Whether a user with no relation to ``path``'s owners can read it: o+x on every folder above, o+r on it."""
    path = Path(path).resolve()
    for folder in reversed(path.parents):
        if not folder.stat().st_mode & 0o001:
            return False
    mode = path.stat().st_mode
    return bool(mode & 0o004) and (not path.is_dir() or bool(mode & 0o001))


def _uid_in_use(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        pass
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    return True
            except OSError:
                continue
    return False


def _task_count(uid: int) -> int:
    """How many tasks (threads included: what RLIMIT_NPROC counts) ``uid`` runs now."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count


# ------------------------------------------------------------------ the command line


def _system_binds() -> list[str]:
    """Read-only system folders (merged-/usr machines: /usr, and /lib, /bin... as symlinks into it), without
    /usr/local: what the machine's owner installed there by hand is theirs (an empty folder shows instead)."""
    args = ["--ro-bind", "/usr", "/usr"]
    if os.path.isdir("/usr/local"):
        args += ["--tmpfs", "/usr/local"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def _scratch_shadows(mounts, dirs) -> list[str]:
    """The top folders under the scratch ``/tmp`` that hold mounts (a checkout under /tmp puts the venv there).

    bwrap makes a mount's missing parent folders in the scratch, writable by the hand-in: a hand-in could
    then create ``/tmp/<checkout>/helpers.py`` in its view. Each such folder gets its own small tmpfs,
    made read-only once the mounts are in; the writable ``dirs`` (``/tmp/home``, ``/tmp/mpl``) stay so.
    """
    writable = {d.rstrip("/") for d in dirs}
    tops = {"/".join(m.dest.split("/")[:3]) for m in mounts if m.dest.startswith("/tmp/") and m.dest.count("/") >= 3}
    return sorted(tops - writable)


def bwrap_argv(bwrap: str, mounts, env: dict, limits: Limits, command, *, seccomp_fd=None, dirs=(),
               workdir="/tmp") -> list:
    """bwrap's command line for ``command``: ``mounts`` read-only, ``dirs`` made writable in the scratch
    folder, exactly the environment ``env``. Mounts come after the scratch ``/tmp``, so one may sit in it."""
    argv = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--uid", str(INSIDE_UID), "--gid", str(INSIDE_UID), "--hostname", "sandbox", *_system_binds(),
            "--proc", "/proc", "--dev", "/dev",
            "--size", str(limits.shm), "--perms", "1777", "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
            "--size", str(limits.scratch), "--perms", "1777", "--tmpfs", "/tmp"]
    for folder in dirs:
        argv += ["--perms", "0777", "--dir", folder]
    shadows = _scratch_shadows(mounts, dirs)
    for folder in shadows:           # a read-only layer under the scratch for the mounts that sit in it
        argv += ["--size", str(2**20), "--tmpfs", folder]
    for mount in mounts:
        argv += ["--ro-bind", mount.source, mount.dest]
    for folder in shadows:
        argv += ["--remount-ro", folder]
    argv += (["--remount-ro", "/usr/local"] if os.path.isdir("/usr/local") else []) + ["--remount-ro", "/"]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    argv += ["--clearenv"]
    for name, value in env.items():
        argv += ["--setenv", name, value]
    return argv + ["--chdir", workdir, "--", *command]


def _rlimits(limits: Limits, processes: int) -> dict:
    return {"RLIMIT_AS": limits.memory + 2**30, "RLIMIT_CPU": int(limits.cpu) + 2, "RLIMIT_FSIZE": limits.file_size,
            "RLIMIT_NOFILE": limits.open_files, "RLIMIT_NPROC": processes, "RLIMIT_CORE": 0}


# ------------------------------------------------------------------ watching a running sandbox


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                found += [int(c) for c in handle.read().split()]
    except (OSError, ValueError):
        pass
    return found


def _namespace_pids(init: int) -> list[int]:
    """Every process below ``init`` (the sandbox's first process): none can leave its PID namespace."""
    pids, todo = [], [init]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += _children(pid)
    return pids


def _usage(pids) -> tuple[int, float]:
    """(summed resident bytes, summed CPU seconds, reaped children's included) of ``pids``."""
    rss, ticks = 0, 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
                rss += int(handle.read().split()[1]) * _PAGE
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            ticks += sum(int(x) for x in fields[11:15])   # utime stime cutime cstime
        except (OSError, IndexError, ValueError):
            continue
    return rss, ticks / _TICK


def _pss(pids) -> int:
    """Summed proportional set size: pages shared after fork() counted once (slower, so only to confirm)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError):
            continue
    return total


class _Watch:
    """The watchdog's view of one run: what it measured, and which limit (if any) stopped it."""

    def __init__(self, proc, limits: Limits, confined: bool = True):
        self.proc, self.limits, self.confined = proc, limits, confined
        self.start = time.monotonic()
        self.init = None if confined else proc.pid
        self.stopped = None
        self.cpu = 0.0
        self.peak_memory = self.peak_processes = 0

    def kill(self, why: str) -> None:
        if self.stopped is None:
            self.stopped = why
        if not self.confined:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            return
        for pid in (self.init, self.proc.pid):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def tick(self, output_bytes: int, result_bytes: int) -> None:
        limits = self.limits
        if self.init is None:
            kids = _children(self.proc.pid)
            self.init = kids[0] if kids else None
        if self.init is not None:
            pids = _namespace_pids(self.init)
            rss, cpu = _usage(pids)
            self.cpu = max(self.cpu, cpu)
            self.peak_processes = max(self.peak_processes, len(pids))
            if rss > limits.memory:
                pss = _pss(pids)
                self.peak_memory = max(self.peak_memory, pss)
                if pss > limits.memory:
                    self.kill(f"memory: its processes held {pss / 2**20:,.0f} MB (limit {limits.memory / 2**20:,.0f} MB)")
            else:
                self.peak_memory = max(self.peak_memory, rss)
            if cpu > limits.cpu:
                self.kill(f"CPU time: {cpu:.0f} s (limit {limits.cpu:g} s)")
            if len(pids) > limits.processes:
                self.kill(f"processes: {len(pids)} (limit {limits.processes})")
        if time.monotonic() - self.start > limits.wall:
            self.kill(f"wall time: {limits.wall:g} s")
        self.streams(output_bytes, result_bytes)

    def streams(self, output_bytes: int, result_bytes: int) -> None:
        """Stop the run once its output or its result is over the limit (checked after every read)."""
        if output_bytes > self.limits.output:
            self.kill(f"output: more than {self.limits.output / 2**20:g} MB written to stdout and stderr")
        if result_bytes > self.limits.result:
            self.kill(f"result: more than {self.limits.result / 2**20:g} MB sent back")


def _pump(proc, watch: _Watch, out_r: int, res_r: int) -> tuple[bytes, int, bytes]:
    """Read both pipes (never blocking past the next tick) until both close; returns (result, output bytes, tail)."""
    limits = watch.limits
    result, tail, output_bytes = bytearray(), bytearray(), 0
    selector = selectors.DefaultSelector()
    for fd in (out_r, res_r):
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    open_fds, next_tick = 2, 0.0
    while open_fds:
        now = time.monotonic()
        if now >= next_tick:
            watch.tick(output_bytes, len(result))
            next_tick = now + _POLL
        for key, _ in selector.select(timeout=_POLL):
            try:
                data = os.read(key.fd, 1 << 16)
            except BlockingIOError:
                continue
            if not data:
                selector.unregister(key.fd)
                open_fds -= 1
            elif key.fd == res_r:
                result += data[: limits.result + 1 - len(result)] if len(result) <= limits.result else b""
                watch.streams(output_bytes, len(result))
            else:
                output_bytes += len(data)
                tail = (tail + data)[-_OUTPUT_TAIL:]
                watch.streams(output_bytes, len(result))
    selector.close()
    while proc.poll() is None:   # the pipes closed: bwrap exits as soon as its namespace is empty
        if time.monotonic() - watch.start > limits.wall + 5:
            watch.kill(f"wall time: {limits.wall:g} s")
        time.sleep(0.005)
    return bytes(result), output_bytes, bytes(tail)


# ------------------------------------------------------------------ the sandbox


class Sandbox:
    """A sandbox configuration for a grading run: the same environment and base mounts for every program.

    ``mounts`` are shown read-only (the Python environment is added);
    ``dirs`` are made writable in the scratch folder; ``env`` is the whole
    environment inside. ``slots`` is how many sandboxes may run at once (a
    root caller gets a host uid per slot). Call :meth:`run` from up to
    ``slots`` threads, each with its own slot number; then :meth:`close`.

    Raises
    ------
    SandboxUnavailable
        If this machine cannot run the sandbox (:func:`check_available`).
    """

    confined = True

    def __init__(self, env: dict, *, mounts=(), dirs=(), limits: Limits = Limits(), slots: int = 1, workdir=None):
        self.bwrap = check_available()
        self.env, self.dirs, self.limits, self.slots = dict(env), tuple(dirs), limits, slots
        self._live = set()
        self._tmp = tempfile.mkdtemp(prefix="grading-sandbox-", dir=workdir)
        try:
            os.chmod(self._tmp, 0o711)
            self._filter_path = os.path.join(self._tmp, "seccomp.bpf")
            fd = os.open(self._filter_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                seccomp_filter(fd)
            finally:
                os.close(fd)
            self.root = os.getuid() == 0
            self._uids = self._slot_uids() if self.root else [os.getuid()] * slots
            self._remap, self.mounts = self._reachable_mounts(list(mounts))
        except BaseException:
            self.close()
            raise

    def slot_uid(self, slot: int) -> int:
        """The host uid slot ``slot``'s sandboxes run as."""
        return self._uids[slot]

    def _slot_uids(self) -> list[int]:
        uids, uid = [], SLOT_UID_BASE
        while len(uids) < self.slots:
            if not _uid_in_use(uid):
                uids.append(uid)
            uid += 1
        return uids

    def _reachable_mounts(self, mounts) -> tuple[list, list]:
        """The venv and its Python at their own paths (the venv's links point there), then ``mounts``;
        for root, a source the slot users cannot reach gets a private bind onto a reachable mountpoint."""
        homes = sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)})
        mounts = [Mount(h, h) for h in homes] + mounts
        if not self.root:
            return [], mounts
        remap, shown = [], []
        for k, mount in enumerate(mounts):
            if reachable_by_others(mount.source):
                shown.append(mount)
                continue
            point = os.path.join(self._tmp, f"mount{k}")
            if os.path.isdir(mount.source):
                os.mkdir(point, 0o755)
            else:
                with open(point, "w"):
                    pass
                os.chmod(point, 0o644)
            remap.append([os.path.realpath(mount.source), point])
            shown.append(Mount(point, mount.dest))
        return remap, shown

    def run(self, command, *, stdin: bytes = b"", slot: int = 0, mounts=(), env=None,
            limits: Limits | None = None) -> Outcome:
        """Run ``command`` (an argv inside the sandbox) with ``stdin`` as its standard input.

        ``env`` adds to the environment; ``mounts`` are shown read-only for this run only (their sources must be
        readable by other users: a root caller's sandboxes are other users). The
        program's result channel is an inherited pipe: an argument equal to
        :data:`RESULT_FD` is replaced by its file descriptor number.
        """
        limits = limits or self.limits
        uid = self._uids[slot]
        processes = limits.processes if self.root else _task_count(uid) + limits.processes * self.slots
        filter_fd = os.open(self._filter_path, os.O_RDONLY)

        def launcher(res_w):
            argv = bwrap_argv(self.bwrap, [*self.mounts, *mounts], {**self.env, **(env or {})}, limits,
                              [str(res_w) if arg == RESULT_FD else arg for arg in command],
                              seccomp_fd=filter_fd, dirs=self.dirs)
            config = {"rlimits": _rlimits(limits, processes), "remap": self._remap, "uid": uid, "gid": uid,
                      "argv": argv}
            return [sys.executable, "-I", "-S", str(_LAUNCH), json.dumps(config)], {"PATH": "/usr/bin:/bin"}

        try:
            return _run(launcher, stdin, limits, pass_fds=(filter_fd,), confined=True, live=self._live)
        finally:
            os.close(filter_fd)

    def stop_all(self, why: str = STOPPED) -> None:
        """Stop every program running now (from another thread): their runs end at once."""
        for watch in list(self._live):
            watch.kill(why)

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)


class Unconfined:
    """The same interface as :class:`Sandbox` without the sandbox, for ``--no-sandbox``: trusted programs only.

    The program runs as the caller, with the caller's files and network in
    reach; only the limits on time, CPU, memory, output and result hold (a
    process that leaves the process group escapes the final kill).
    """

    confined = False

    def __init__(self, env: dict, *, limits: Limits = Limits(), slots: int = 1, workdir=None, **_ignored):
        self.env, self.limits, self.slots = dict(env), limits, slots
        self._live = set()
        self._tmp = tempfile.mkdtemp(prefix="grading-unconfined-", dir=workdir)

    def run(self, command, *, stdin: bytes = b"", slot: int = 0, mounts=(), env=None,
            limits: Limits | None = None) -> Outcome:
        """Run ``command`` (host paths: ``mounts`` are not applied) in a fresh folder as the working folder."""
        limits = limits or self.limits
        home = tempfile.mkdtemp(dir=self._tmp)
        env = {**self.env, **(env or {}), "HOME": home}

        def launcher(res_w):
            argv = [str(res_w) if arg == RESULT_FD else arg for arg in command]
            config = {"rlimits": {k: v for k, v in _rlimits(limits, 0).items() if k != "RLIMIT_NPROC"},
                      "argv": argv, "env": env}
            return [sys.executable, "-I", "-S", str(_LAUNCH), json.dumps(config)], {"PATH": "/usr/bin:/bin"}

        try:
            return _run(launcher, stdin, limits, pass_fds=(), confined=False, live=self._live, cwd=home)
        finally:
            shutil.rmtree(home, ignore_errors=True)

    stop_all = Sandbox.stop_all

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)


def _run(launcher, stdin: bytes, limits: Limits, *, pass_fds, confined: bool, live: set, cwd=None) -> Outcome:
    """Start ``launcher(result write fd)``'s command with ``stdin``, watch it, and collect its :class:`Outcome`.

    While it runs, its watchdog is in ``live`` (see :meth:`Sandbox.stop_all`)."""
    out_r, out_w = os.pipe()
    res_r, res_w = os.pipe()
    try:
        with tempfile.TemporaryFile() as job:   # stdin as an unlinked file: never a pipe that could block us
            job.write(stdin)
            job.seek(0)
            argv, env = launcher(res_w)
            proc = subprocess.Popen(argv, stdin=job, stdout=out_w, stderr=out_w, pass_fds=(*pass_fds, res_w),
                                    start_new_session=True, env=env, cwd=cwd)
    except BaseException:
        for fd in (out_r, res_r):
            os.close(fd)
        raise
    finally:
        os.close(out_w)
        os.close(res_w)
    watch = _Watch(proc, limits, confined)
    live.add(watch)
    try:
        result, output_bytes, tail = _pump(proc, watch, out_r, res_r)
    finally:
        live.discard(watch)
        if proc.poll() is None:
            watch.kill("stopped")
            proc.wait()
        if not confined:       # whatever of its process group is left
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        os.close(out_r)
        os.close(res_r)
    return Outcome(proc.returncode, result, watch.stopped, time.monotonic() - watch.start, watch.cpu,
                   watch.peak_memory, watch.peak_processes, output_bytes, tail)
