"""Grading kernels inside bubblewrap: a student's code sees only what it needs and outlives nothing.

Each kernel runs under ``bwrap`` (the unprivileged sandbox Flatpak uses) with its own user, PID, IPC,
UTS and network namespaces. Inside, the Python environment, the system libraries and the Keras dataset
cache are mounted read-only; the kernel writes only to a private, size-bounded home (its working
folder) and ``/tmp``. Nothing of the instructor's is there: no ``solutions/``, no course directory
(gradebook, other students' copies, feedback), no submissions, no home folder. The network namespace
holds only its own loopback, so the grader talks to the kernel over ZMQ ``ipc`` sockets in a private
run folder that is the only shared path. When the kernel exits, its PID namespace dies with it, and
so does every process it started. Resource limits (address space, file size) come from ``prlimit``.

The facts behind each flag are in the design notes (``SANDBOX.md``): an inherited
``JPY_PARENT_PID`` shuts ipykernel down (hence ``--clearenv``); SIGINT would kill bwrap, not
interrupt the cell (hence interrupts by message); the root of the sandbox is a writable tmpfs (hence
``--remount-ro /`` last).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer

HOME = "/home/student"  # the kernel's working folder and home, a private tmpfs
PASSED_THROUGH = ("AEWORKBOOK_PROFILE", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "LANG",
                  "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")  # the last two: CPU quirks set by the machine
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group",
                "/etc/fonts", "/etc/alternatives")


class SandboxUnavailable(Exception):
    """bubblewrap is missing or cannot start here; the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    """What one grading kernel may use. The defaults suit the workbook's fast profile."""

    memory_mb: int = 4096  # address space: TensorFlow reserves ~1.9 GB at import, so less than 2 GiB breaks it
    file_size_mb: int = 64  # the largest file the kernel may write
    tmp_mb: int = 256  # /tmp and the working folder, each (tmpfs, so it counts as memory)
    threads: int = 0  # CPU threads for TensorFlow and BLAS; 0: all cores

    def describe(self) -> str:
        return (f"memory {self.memory_mb} MB, files up to {self.file_size_mb} MB, /tmp and working folder "
                f"{self.tmp_mb} MB each, {self.threads or 'all'} threads")


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


def bwrap_command(kernel_cmd: list[str], run_dir: Path, limits: Limits) -> list[str]:
    """The kernel command wrapped in prlimit and bwrap."""
    cmd = [shutil.which("prlimit") or "prlimit", f"--as={limits.memory_mb * 2**20}", f"--fsize={limits.file_size_mb * 2**20}",
           "--core=0", "--", bwrap_path() or "bwrap", *namespace_flags(),
           "--ro-bind", "/usr", "/usr"]
    for link in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        target = Path("/") / link
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            cmd += ["--ro-bind", str(target), str(target)]
    for path in SYSTEM_FILES:
        cmd += ["--ro-bind-try", path, path]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--size", str(64 * 2**20), "--tmpfs", "/dev/shm",
            "--size", str(limits.tmp_mb * 2**20), "--tmpfs", "/tmp",
            "--size", str(limits.tmp_mb * 2**20), "--tmpfs", HOME]
    for path in readable_paths():
        cmd += ["--ro-bind", str(path), str(path)]
    datasets = keras_datasets()
    if datasets.is_dir():
        cmd += ["--ro-bind", str(datasets.resolve()), "/tmp/keras/datasets"]
    cmd += ["--bind", str(run_dir), str(run_dir), "--chdir", HOME, "--clearenv"]
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


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel inside bubblewrap, talking to it over ipc sockets."""

    memory_mb = Integer(Limits.memory_mb, help="address-space limit of a grading kernel, MB").tag(config=True)
    file_size_mb = Integer(Limits.file_size_mb, help="largest file a grading kernel may write, MB").tag(config=True)
    tmp_mb = Integer(Limits.tmp_mb, help="size of the kernel's /tmp and working folder, MB each").tag(config=True)
    threads = Integer(Limits.threads, help="CPU threads for TensorFlow and BLAS (0: all cores)").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # A short absolute path: Unix socket paths must stay under ~107 bytes.
        self._run_dir = Path(tempfile.mkdtemp(prefix="aew-", dir="/tmp"))
        self.transport = "ipc"
        self.ip = str(self._run_dir / "kernel")
        self.connection_file = str(self._run_dir / "kernel.json")

    @property
    def limits(self) -> Limits:
        return Limits(self.memory_mb, self.file_size_mb, self.tmp_mb, self.threads)

    def format_kernel_cmd(self, extra_arguments=None) -> list[str]:
        # SIGINT would reach bwrap and end the sandbox: interrupt a cell by message instead.
        self.kernel_spec.interrupt_mode = "message"
        return bwrap_command(super().format_kernel_cmd(extra_arguments), self._run_dir, self.limits)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        # Without a parent PID to watch, ipykernel prints its connection details on stdout: not for us.
        kw.setdefault("stdout", subprocess.DEVNULL)
        await super()._async_launch_kernel(kernel_cmd, **kw)

    _launch_kernel = _async_launch_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._run_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources
