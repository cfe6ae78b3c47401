"""Grading kernels inside bubblewrap: a student's code sees only what it needs and outlives nothing.

Each kernel runs under ``bwrap`` (the unprivileged sandbox Flatpak uses) with its own user, PID, IPC,
UTS and network namespaces. Inside, the Python environment, the system libraries and the Keras dataset
cache are mounted read-only; the kernel writes only to a private, size-bounded home (its working
folder), ``/tmp``, ``/dev/shm`` and the folder of its sockets, all in memory. Nothing of the
instructor's is there: no ``solutions/``, no course directory (gradebook, other students' copies,
feedback), no submissions, no home folder, no secret. The network namespace holds only its own
loopback, so the grader talks to the kernel over ZMQ ``ipc`` sockets that the kernel binds in its own
sized tmpfs, reached from outside through ``/proc/PID/root`` of the sandbox's first process (bwrap
reports its PID on ``--info-fd``). The only host folder the kernel sees holds its connection file,
read-only. When the kernel exits, its PID namespace dies with it, and so does every process it started.

Bounds. ``prlimit`` sets each process's address space and largest file. When the grader runs as root
with cgroup v1's memory, pids and cpu hierarchies (CI, a grading VM or container), each kernel and
everything it starts share one cgroup, nested in the grader's own: total memory (tmpfs included),
processes and threads together, and CPU time (a quota of ``threads`` cores). A tiny shell wrapper joins
the cgroup and then execs bwrap, so no student code runs outside it; the cgroup is emptied (SIGKILL)
and removed with the kernel. Elsewhere those three are not bounded, and :func:`bounds` says so.

The facts behind each choice are in the design notes (``SANDBOX.md``), each reproduced here:

- an inherited ``JPY_PARENT_PID`` shuts ipykernel down (hence ``--clearenv``), and bwrap itself, PID 1
  inside, shows the environment it was started with in ``/proc/1/environ``: it starts with none;
- descriptors the kernel inherits can be reopened read-write through ``/proc/self/fd``: it inherits
  only ``/dev/null`` and its own log file (``kernel.log``, bounded by the file-size limit);
- SIGINT would kill bwrap, not interrupt the cell (hence interrupts by message; a cell that ignores the
  interrupt is killed by the grader, see :mod:`.execute`);
- the sandbox's root and ``--dev``'s ``/dev`` are writable tmpfs of half the machine's memory, and a
  writable ``--bind`` of a host folder is bounded only by the host's disk (hence ``--remount-ro`` of
  ``/dev`` and ``/``, sized tmpfs everywhere else, and no writable host folder);
- ``RLIMIT_AS`` bounds each process, not a kernel and its children together, and ``RLIMIT_NPROC``
  neither binds host root nor, for other users, counts only one kernel's processes (the user's own
  processes count too, and bwrap cannot even start past the limit): hence cgroups.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

import zmq
import zmq.asyncio
import zmq.utils.monitor
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from traitlets import Integer, Type, default

from .untrusted import printable

HOME = "/home/student"  # the kernel's working folder and home, a private tmpfs
SOCKETS = "/run/jupyter"  # the kernel's ipc sockets, a private tmpfs too
PASSED_THROUGH = ("AEWORKBOOK_PROFILE", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "LANG",
                  "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")  # the last two: CPU quirks set by the machine
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group",
                "/etc/fonts", "/etc/alternatives")
CGROUPS = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")
MESSAGE_MB = 16  # the largest message taken from a kernel (a solved chapter's largest, a figure: under 1 MB)
CPU_PERIOD = 100_000  # microseconds: cpu.cfs_quota_us is this times the kernel's share of cores
# Joins the cgroup folders named before "--" (their cgroup.procs), then becomes the command after it.
JOIN = 'while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs" || exit 125; shift; done; shift; exec "$@"'


class SandboxUnavailable(Exception):
    """bubblewrap is missing or cannot start here; the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    """What one grading kernel may use. The defaults suit the workbook's fast profile."""

    memory_mb: int = 4096  # each process's address space, and (with cgroups) the kernel's and its children's total
    file_size_mb: int = 64  # the largest file the kernel may write
    tmp_mb: int = 256  # /tmp and the working folder, each (tmpfs, so it counts as memory)
    threads: int = 0  # CPU threads for TensorFlow and BLAS, and (with cgroups) cores of CPU time; 0: all cores
    processes: int = 256  # processes and threads of a kernel and its children together (an idle kernel: ~10)
    notebook_timeout: int = 900  # seconds a whole notebook may run (the fast profile's slowest: about 60)

    def describe(self) -> str:
        return (f"memory {self.memory_mb} MB, files up to {self.file_size_mb} MB, /tmp and working folder "
                f"{self.tmp_mb} MB each, {self.threads or 'all'} threads, {self.processes} processes, "
                f"{self.notebook_timeout} s a notebook")


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def check_available() -> None:
    """Start a trivial sandbox with the flags grading uses; raise :class:`SandboxUnavailable` if it fails."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so student code cannot be isolated while it is graded.\n"
            "Install it: `sudo apt-get install bubblewrap` (Debian, Ubuntu), `sudo dnf install bubblewrap` "
            "(Fedora), or `conda install -c conda-forge bubblewrap`.\n"
            "Or grade without isolation, at your own risk: aeworkbook grade --no-sandbox ...")
    probe = subprocess.run([bwrap, *namespace_flags(), "--ro-bind", "/", "/", "--", "true"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        why = probe.stderr.strip() or f"exit status {probe.returncode}"
        fix = ("User namespaces are restricted on this machine (Ubuntu 23.10 and later, GitHub's runners: "
               "AppArmor's kernel.apparmor_restrict_unprivileged_userns). Allow them for bwrap with an "
               "AppArmor profile (see the README, 'Grading safely'), or for the whole machine with "
               "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`."
               if "uid map" in why or "Permission denied" in why or "Operation not permitted" in why else
               "Check that unprivileged user namespaces are enabled (`sysctl kernel.unprivileged_userns_clone`, "
               "`sysctl user.max_user_namespaces`).")
        raise SandboxUnavailable(f"bubblewrap cannot start a sandbox here: {why}\n{fix}\n"
                                 "Or grade without isolation, at your own risk: aeworkbook grade --no-sandbox ...")


def namespace_flags() -> list[str]:
    # As root, bwrap needs an explicit --unshare-user for --disable-userns (no nested namespaces, which
    # could otherwise regain capabilities inside).
    return ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL"]


def readable_paths() -> list[Path]:
    """What the kernel must read: the Python environment, the aeworkbook package, the dataset cache."""
    import aeworkbook

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
             Path(aeworkbook.__file__).resolve().parents[1]}  # site-packages, or src/ of an editable install
    python = Path(sys.executable).resolve()
    if not any(python.is_relative_to(p) for p in paths):
        paths.add(python.parent)
    return sorted(p for p in paths if p.exists() and p != Path("/"))


def keras_datasets() -> Path:
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets"


def bwrap_command(kernel_cmd: list[str], run_dir: Path, limits: Limits, info_fd: int | None = None) -> list[str]:
    """The kernel command wrapped in prlimit and bwrap, which starts with no environment (it shows its own in
    ``/proc/1/environ``); bwrap writes its first process's PID to ``info_fd``."""
    cmd = [shutil.which("prlimit") or "prlimit", f"--as={limits.memory_mb * 2**20}", f"--fsize={limits.file_size_mb * 2**20}",
           "--core=0", "--", "/usr/bin/env", "-i", bwrap_path() or "bwrap", *namespace_flags(),
           *(["--info-fd", str(info_fd)] if info_fd is not None else []), "--ro-bind", "/usr", "/usr"]
    for link in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        target = Path("/") / link
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            cmd += ["--ro-bind", str(target), str(target)]
    for path in SYSTEM_FILES:
        cmd += ["--ro-bind-try", path, path]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev", "--size", str(64 * 2**20), "--tmpfs", "/dev/shm",
            "--size", str(limits.tmp_mb * 2**20), "--tmpfs", "/tmp",
            "--size", str(limits.tmp_mb * 2**20), "--tmpfs", HOME, "--size", str(2**20), "--tmpfs", SOCKETS]
    for path in readable_paths():
        cmd += ["--ro-bind", str(path), str(path)]
    datasets = keras_datasets()
    if datasets.is_dir():
        cmd += ["--ro-bind", str(datasets.resolve()), "/tmp/keras/datasets"]
    cmd += ["--ro-bind", str(run_dir), str(run_dir), "--chdir", HOME, "--clearenv"]
    for name, value in kernel_environment(limits).items():
        cmd += ["--setenv", name, value]
    return cmd + ["--remount-ro", "/", "--", *kernel_cmd]


def kernel_environment(limits: Limits) -> dict[str, str]:
    """Only what the kernel needs: no JPY_PARENT_PID (ipykernel would shut down), no instructor secrets."""
    import aeworkbook

    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": HOME, "TMPDIR": "/tmp",
           "KERAS_HOME": "/tmp/keras", "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONNOUSERSITE": "1",
           "PYTHONPATH": str(Path(aeworkbook.__file__).resolve().parents[1])}
    env.update({name: os.environ[name] for name in PASSED_THROUGH if name in os.environ})
    if limits.threads:
        threads = str(limits.threads)
        env.update(OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
                   TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS="1")
    return env


# -- cgroups: a kernel and everything it starts, bounded together -------------------------------------------

def cgroup_parents() -> dict[str, Path] | None:
    """This process's own cgroup in each v1 hierarchy that bounds a kernel, where kernels' cgroups go;
    None when the grader may not create them there (not root, or no cgroup v1 memory, pids and cpu)."""
    if os.geteuid() != 0:
        return None
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        own.update(dict.fromkeys(names.split(","), path))
    parents = {name: CGROUPS / name / own[name].lstrip("/") for name in CONTROLLERS if name in own}
    if len(parents) == len(CONTROLLERS) and all(os.access(p / "cgroup.procs", os.W_OK) for p in parents.values()):
        return parents
    return None


def bounds() -> str:
    """What bounds a kernel and its children together on this machine, for the grading summary."""
    if cgroup_parents():
        return "each kernel in a cgroup of its own"
    return ("WARNING: not root or no cgroup v1 here, so the processes, total memory and CPU time of a kernel "
            "and its children are NOT bounded (see the README, 'Grading safely')")


class KernelCgroup:
    """One kernel's cgroup: a folder in each of the memory, pids and cpu hierarchies."""

    def __init__(self, parents: dict[str, Path], name: str, limits: Limits):
        self.folders = {controller: parent / name for controller, parent in parents.items()}
        for folder in self.folders.values():
            folder.mkdir()
        memory, cores = str(limits.memory_mb * 2**20), limits.threads or os.cpu_count() or 1
        # The quota caps the kernel at its share of the cores; the weight (1024 is one process's) keeps
        # its share under contention as it was outside a cgroup, that of `cores` busy processes.
        settings = [("memory", "memory.limit_in_bytes", memory), ("memory", "memory.memsw.limit_in_bytes", memory),
                    ("pids", "pids.max", str(limits.processes)),
                    ("cpu", "cpu.cfs_period_us", str(CPU_PERIOD)), ("cpu", "cpu.cfs_quota_us", str(CPU_PERIOD * cores)),
                    ("cpu", "cpu.shares", str(1024 * cores))]
        for controller, setting, value in settings:
            path = self.folders[controller] / setting
            if path.exists():  # memsw: only where swap accounting is on
                path.write_text(value)

    def wrap(self, command: list[str]) -> list[str]:
        return ["/bin/sh", "-c", JOIN, "sh", *map(str, self.folders.values()), "--", *command]

    def remove(self) -> None:
        """Kill whatever is left in it, then remove it (retried while the killed processes are reaped)."""
        for _ in range(100):
            for folder in self.folders.values():
                for pid in (folder / "cgroup.procs").read_text().split() if folder.exists() else ():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            try:
                for folder in self.folders.values():
                    if folder.exists():
                        folder.rmdir()
                return
            except OSError:  # EBUSY: processes not reaped yet
                time.sleep(0.05)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel inside bubblewrap, talking to it over ipc sockets."""

    memory_mb = Integer(Limits.memory_mb, help="memory of a grading kernel, MB").tag(config=True)
    file_size_mb = Integer(Limits.file_size_mb, help="largest file a grading kernel may write, MB").tag(config=True)
    tmp_mb = Integer(Limits.tmp_mb, help="size of the kernel's /tmp and working folder, MB each").tag(config=True)
    threads = Integer(Limits.threads, help="CPU threads for TensorFlow and BLAS (0: all cores)").tag(config=True)
    processes = Integer(Limits.processes, help="processes and threads of a kernel and its children").tag(config=True)
    message_mb = Integer(MESSAGE_MB, help="largest message taken from the kernel, MB").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.context.setsockopt(zmq.MAXMSGSIZE, self.message_mb * 2**20)  # its own control socket
        self._run_dir = Path(tempfile.mkdtemp(prefix="aew-", dir="/tmp"))  # the connection file, the kernel's log
        self.transport = "ipc"
        self.ip = f"{SOCKETS}/kernel"  # in the sandbox; the grader's side becomes known at launch
        self.connection_file = str(self._run_dir / "kernel.json")
        self._cgroup: KernelCgroup | None = None

    @default("client_factory")
    def _bounded_client(self):
        return BoundedKernelClient

    @property
    def limits(self) -> Limits:
        return Limits(self.memory_mb, self.file_size_mb, self.tmp_mb, self.threads, self.processes)

    def format_kernel_cmd(self, extra_arguments=None) -> list[str]:
        # SIGINT would reach bwrap and end the sandbox: interrupt a cell by message instead.
        self.kernel_spec.interrupt_mode = "message"
        return super().format_kernel_cmd(extra_arguments)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        info, info_to_write = os.pipe()
        command = bwrap_command(kernel_cmd, self._run_dir, self.limits, info_fd=info_to_write)
        parents = cgroup_parents()
        if parents:
            self._cgroup = KernelCgroup(parents, self._run_dir.name, self.limits)
            command = self._cgroup.wrap(command)
        # No descriptor of the grader's but the kernel's own log (Popen closes the others); without a parent
        # PID to watch, ipykernel prints its connection details on stdout: not for us.
        kw.update(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, pass_fds=(info_to_write,))
        with open(self._run_dir / "kernel.log", "wb") as log:
            kw["stderr"] = log
            try:
                await super()._async_launch_kernel(command, **kw)
            finally:
                os.close(info_to_write)
        try:
            pid = await asyncio.to_thread(sandbox_pid, info)
        finally:
            os.close(info)
        if pid is None:
            raise SandboxUnavailable(f"the sandbox did not start: {self.kernel_log()}")
        self.ip = f"/proc/{pid}/root{SOCKETS}/kernel"  # the kernel's sockets, seen from here

    _launch_kernel = _async_launch_kernel

    def kernel_log(self, limit: int = 2000) -> str:
        try:
            return (self._run_dir / "kernel.log").read_bytes()[-limit:].decode(errors="replace").strip()
        except OSError:
            return ""

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        self.ip = str(self._run_dir / "kernel")  # its sockets went with the sandbox: touch no reused PID's files
        await super()._async_cleanup_resources(restart=restart)
        if self._cgroup:
            self._cgroup.remove()
            self._cgroup = None
        if log := self.kernel_log(10_000):  # kernel chatter: to the worker's log, control characters escaped
            sys.stderr.write(printable(log, lines=True) + "\n")
        if not restart:
            shutil.rmtree(self._run_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


# -- messages: what one message from the kernel may cost the grader ------------------------------------------------

class MessageRefused(DeadKernelError):
    """The kernel sent a message over the size limit; the grader cannot hear it any more."""


class BoundedChannel(AsyncZMQSocketChannel):
    """A channel whose socket refuses messages over ZMQ's MAXMSGSIZE, before reading them. ZMQ treats one as a
    protocol error: it closes the connection for good (no reconnection, unlike a peer that went away), so every
    later message on it is lost. ``get_msg`` then raises :class:`MessageRefused` instead of waiting forever."""

    def __init__(self, socket, session, loop=None):
        super().__init__(socket, session, loop)
        self.name = "iopub" if socket.type == zmq.SUB else "shell"
        self.monitor = socket.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECT_RETRIED)

    async def get_msg(self, timeout=None):
        poller = zmq.asyncio.Poller()
        poller.register(self.socket, zmq.POLLIN)
        poller.register(self.monitor, zmq.POLLIN)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0, deadline - time.monotonic())
            ready = dict(await poller.poll(None if left is None else 1000 * left))
            if self.socket in ready:  # what came before the refused message is read first
                return await self._recv()
            if self.monitor not in ready:
                raise Empty
            if await self._refused():
                limit = self.socket.getsockopt(zmq.MAXMSGSIZE)
                raise MessageRefused(f"the kernel sent a message over the grader's {limit // 2**20} MB limit "
                                     f"(on its {self.name} channel), which was refused")

    async def _refused(self) -> bool:
        """A disconnection not retried: a protocol error (ZMQ retries at once for a kernel that went away, whose
        death the executor sees itself)."""
        event = zmq.utils.monitor.parse_monitor_message(await self.monitor.recv_multipart())["event"]
        return event == zmq.EVENT_DISCONNECTED and not await self.monitor.poll(500)

    def close(self) -> None:
        self.monitor.close(linger=0)
        super().close()


class BoundedKernelClient(AsyncKernelClient):
    """The grader's client of a sandboxed kernel: no message over ``message_mb`` of its manager is received."""

    shell_channel_class = iopub_channel_class = Type(BoundedChannel)

    @default("context")
    def _bounded_context(self) -> zmq.asyncio.Context:
        context = super()._context_default()
        context.setsockopt(zmq.MAXMSGSIZE, getattr(self.parent, "message_mb", MESSAGE_MB) * 2**20)
        return context

    def start_channels(self, shell=True, iopub=True, stdin=False, hb=False, control=False):
        # The grader reads shell and iopub only: what a kernel sent on the others would pile up unread.
        super().start_channels(shell, iopub, stdin, hb, control)


def sandbox_pid(info: int, timeout: float = 60) -> int | None:
    """The host PID of the sandbox's first process, from bwrap's ``--info-fd`` (None if bwrap failed)."""
    text = b""
    while select.select([info], [], [], timeout)[0]:
        chunk = os.read(info, 4096)
        if not chunk:
            break
        text += chunk
        try:
            return json.loads(text)["child-pid"]
        except ValueError:
            continue
    return None
