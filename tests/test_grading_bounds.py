"""Bounded attacks on the grading sandbox's walls and limits, each tried for real in one sandboxed kernel
(secrets, inherited descriptors, writes past the caps, leftovers, processes, memory, CPU, a fork bomb),
and the grader's executor against cells that ignore the interrupt or outrun the notebook's time."""

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
import zmq
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from aeworkbook.course import sandbox
from aeworkbook.course.execute import GraderExecute
from aeworkbook.course.nbconfig import OUTPUT_LIMIT
from aeworkbook.course.sandbox import SandboxedKernelManager

SECRET = f"aeworkbook-secret-{uuid.uuid4().hex}"
LIMITS = dict(memory_mb=2048, threads=1)  # a plain kernel (no TensorFlow) needs far less than a chapter
as_root = pytest.mark.skipif(sandbox.cgroup_parents() is None, reason="cgroups need root and cgroup v1")


class Kernel:
    """A kernel in the grader's sandbox, started while the grader has a secret in its environment and its
    stderr on a log file (as a grading worker has)."""

    def __init__(self, log: Path):
        self.loop = asyncio.new_event_loop()
        self.km = SandboxedKernelManager(kernel_name="python3", **LIMITS)
        saved = os.dup(2)
        os.environ["AEWORKBOOK_TEST_SECRET"] = SECRET
        try:
            with open(log, "ab") as file:
                os.dup2(file.fileno(), 2)
            self.loop.run_until_complete(self.km.start_kernel())
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            del os.environ["AEWORKBOOK_TEST_SECRET"]
        self.run_dir = self.km._run_dir
        self.cgroup = self.km._cgroup
        self.kc = self.km.client()
        self.kc.start_channels()
        self.loop.run_until_complete(self.kc.wait_for_ready(timeout=60))

    def run(self, code: str, timeout: float = 60) -> str:
        """Execute ``code``; return what it printed (an error's name and value too)."""
        async def execute():
            msg_id, out = self.kc.execute(code), []
            while True:
                msg = await self.kc.get_iopub_msg(timeout=timeout)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                content = msg["content"]
                if msg["msg_type"] == "stream":
                    out.append(content["text"])
                elif msg["msg_type"] == "error":
                    out.append(f"{content['ename']}: {content['evalue']}")
                elif msg["msg_type"] == "status" and content["execution_state"] == "idle":
                    return "".join(out)
        return self.loop.run_until_complete(execute())

    def shutdown(self) -> None:
        self.kc.stop_channels()
        self.loop.run_until_complete(self.km.shutdown_kernel(now=True))
        self.loop.close()


def processes():
    """(PID, command line) of every process of the machine."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                yield int(entry.name), (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    if sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not installed")
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    kernel = Kernel(log)
    kernel.log = log
    yield kernel
    kernel.shutdown()


def test_no_secret_of_the_graders_environment_reaches_the_kernel(kernel):
    out = kernel.run(f'''
import os
found = [pid for pid in os.listdir("/proc") if pid.isdigit()
         and b"{SECRET}" in open(f"/proc/{{pid}}/environ", "rb").read()]
print("found:", found, "/proc/1/environ:", open("/proc/1/environ", "rb").read())
''')
    assert "found: [] /proc/1/environ: b''" in out, out


def test_no_descriptor_of_the_grader_can_be_reopened(kernel):
    out = kernel.run(f'''
import os, stat
reopened = []
for fd in os.listdir("/proc/self/fd"):
    try:
        if stat.S_ISREG(os.stat(f"/proc/self/fd/{{fd}}").st_mode):
            with open(f"/proc/self/fd/{{fd}}", "a") as file:
                file.write("{SECRET}")
            reopened.append(os.readlink(f"/proc/self/fd/{{fd}}"))
    except OSError:
        pass
print("reopened:", reopened)
''')
    assert "reopened:" in out
    assert SECRET not in kernel.log.read_text(errors="replace"), f"the worker's log was written to: {out}"


def test_writes_stop_at_the_caps(kernel):
    out = kernel.run('''
import os, sys
def fill(folder):
    written = 0
    for n in range(8):  # 8 files of 16 MB: past the per-file limit's reach
        try:
            with open(f"{folder}/fill-{n}.bin", "wb") as file:
                for _ in range(16):
                    file.write(b"0" * 2**20)
                    file.flush()
                    written += 1
        except OSError:
            break
    for n in range(8):
        try:
            os.remove(f"{folder}/fill-{n}.bin")
        except OSError:
            pass
    return written
run_dir = os.path.dirname(sys.argv[sys.argv.index("-f") + 1])
print({"dev": fill("/dev"), "shm": fill("/dev/shm"), "run": fill(run_dir), "sockets": fill("/run/jupyter")})
''', timeout=120)
    written = eval(out)
    assert written["dev"] == 0 and written["run"] == 0, written
    assert written["shm"] <= 64 and written["sockets"] <= 1, written


def test_nothing_the_kernel_leaves_outlives_it(tmp_path):
    kernel = Kernel(tmp_path / "log")
    out = kernel.run('''
import os, sys
run_dir = os.path.dirname(sys.argv[sys.argv.index("-f") + 1])
try:
    os.makedirs(f"{run_dir}/left/inner")
    open(f"{run_dir}/left/inner/file", "w").write("x")
    os.chmod(f"{run_dir}/left/inner", 0)
    os.chmod(f"{run_dir}/left", 0o500)
    print("left a read-only folder")
except OSError as error:
    print(error)
''')
    run_dir, cgroup = kernel.run_dir, kernel.cgroup
    kernel.shutdown()
    assert "left a read-only folder" not in out and not run_dir.exists(), out
    assert cgroup is None or not any(folder.exists() for folder in cgroup.folders.values())


@as_root
def test_processes_and_threads_are_capped(kernel):
    out = kernel.run('''
import subprocess
sleepers = []
try:
    for _ in range(300):
        sleepers.append(subprocess.Popen(["sleep", "60"]))
except OSError as error:
    print(type(error).__name__)
print("started:", len(sleepers))
for sleeper in sleepers:
    sleeper.kill()
    sleeper.wait()
''')
    started = int(out.split("started:")[1])
    assert "BlockingIOError" in out and started < sandbox.Limits.processes, out


@as_root
def test_memory_is_capped_for_the_kernel_and_its_children_together(kernel):
    out = kernel.run('''
import subprocess, sys
hogs = [subprocess.Popen([sys.executable, "-c", "import time; hoard = b'x' * (800 * 2**20); time.sleep(3)"])
        for _ in range(3)]
print("exit codes:", [hog.wait() for hog in hogs])
''')
    codes = eval(out.split("exit codes:")[1])
    assert any(code != 0 for code in codes), f"three children held 2.4 GB under a 2 GB cap: {out}"


@as_root
def test_cpu_time_is_capped_at_the_kernels_share(kernel):
    """The quota cannot be timed on a busy machine: check that it is set and that a child runs under it."""
    cpu = kernel.cgroup.folders["cpu"]
    assert int((cpu / "cpu.cfs_quota_us").read_text()) == sandbox.CPU_PERIOD * LIMITS["threads"]
    seconds = f"{time.time() % 1000:.6f}"  # the child's mark, to find it from outside
    kernel.run(f'import subprocess\nchild = subprocess.Popen(["sleep", "{seconds}"])')
    try:
        child = [pid for pid, cmdline in processes() if cmdline == f"sleep\0{seconds}\0".encode()]
        assert child and set(child) <= {int(pid) for pid in (cpu / "cgroup.procs").read_text().split()}, child
    finally:
        kernel.run("child.kill(); child.wait()")


@as_root
def test_a_fork_bomb_stays_in_its_cgroup_and_dies_with_the_kernel(tmp_path):
    kernel = Kernel(tmp_path / "log")
    pids = kernel.cgroup.folders["pids"]
    kernel.kc.execute('''
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
''')
    time.sleep(5)
    assert int((pids / "pids.current").read_text()) <= sandbox.Limits.processes
    tick = time.perf_counter()
    subprocess.run(["true"], check=True)
    assert time.perf_counter() - tick < 2, "the machine no longer answers"
    kernel.shutdown()
    assert not pids.exists(), "the fork bomb's cgroup outlived its kernel"


def test_without_root_the_summary_says_what_is_not_bounded(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "NOT bounded" in sandbox.bounds()


# -- the executor: cells that will not stop -------------------------------------------------------------------

def execute(cells: list[str], **options) -> tuple[GraderExecute, nbformat.NotebookNode, float]:
    """Run ``cells`` as the grader does, in the sandbox where bubblewrap is installed (as in CI)."""
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    executor = GraderExecute(guard=False, audit=False, sandbox=sandbox.bwrap_path() is not None, **options)
    tick = time.perf_counter()
    executor.preprocess(nb, {"metadata": {"path": "."}})
    return executor, nb, time.perf_counter() - tick


IGNORES_SIGINT = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"


def test_a_cell_that_ignores_the_interrupt_is_stopped_after_the_grace():
    executor, nb, seconds = execute(["earned = 1\nprint(earned)", IGNORES_SIGINT, "print('after')"],
                                    timeout=3, grace=2)
    assert nb.cells[0].outputs[0].text == "1\n", "the cell before keeps its output"
    assert "cell 2 ignored the interrupt after its 3 s timeout" in " ".join(executor.notes)
    assert seconds < 20, f"the notebook took {seconds:.0f} s"


def test_a_notebook_past_its_time_is_stopped():
    executor, nb, seconds = execute(["print(1)", "import time\ntime.sleep(60)", "print('after')"],
                                    timeout=60, notebook_timeout=10)
    assert nb.cells[0].outputs[0].text == "1\n" and "the notebook ran past its 10 s" in " ".join(executor.notes)
    assert seconds < 25, f"the notebook took {seconds:.0f} s"


def test_output_past_the_limit_is_cut_whatever_way_it_comes():
    """The output limit once held for printed text only: one raise of a 50 MB message was kept whole (4 MB here,
    under the limit of a message), and so was an update of a display shown 100 times (200 MB, written once for
    each)."""
    executor, nb, _ = execute([
        "from IPython.display import display, update_display\nfor _ in range(100):\n    display('x', display_id='d')",
        "update_display({'text/plain': 'y' * 2_000_000}, display_id='d', raw=True)",
        "raise ValueError('z' * 4_000_000)"], output_limit=100_000)  # under 16 MB a message, twice in it
    assert len(nbformat.writes(nb)) < 200_000, f"{len(nbformat.writes(nb)):,} bytes kept"
    assert nb.cells[2].outputs[0].ename == "ValueError", "the error, which scores, is kept"
    assert "output cut" in " ".join(executor.notes)


def test_the_graders_metadata_in_a_submission_stops_nothing():
    """A notebook whose metadata held an ``aeworkbook`` list could not be graded at all (nor flagged)."""
    nb = new_notebook(cells=[new_code_cell("print(1)")], metadata={"aeworkbook": ["mine"]})
    executor = GraderExecute(guard=False, sandbox=sandbox.bwrap_path() is not None)
    executor.preprocess(nb, {"metadata": {"path": "."}})
    assert nb.cells[0].outputs[0].text == "1\n" and nb.metadata.aeworkbook["flags"] == []


# -- the executor: messages too big for the grader --------------------------------------------------------------

GRADE = r'''
import json, logging, resource, sys
import nbformat
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config
from nbgrader.utils import determine_grade
from aeworkbook.course.execute import GraderExecute
from aeworkbook.course.nbconfig import OUTPUT_LIMIT

nb = new_notebook(cells=[new_code_cell(source, metadata={"nbgrader": {
    "grade": True, "solution": False, "locked": True, "points": 1, "grade_id": f"test{n}", "schema_version": 3}})
    for n, source in enumerate(json.loads(sys.argv[1]))])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
executor = GraderExecute(guard=False, audit=False, sandbox=True, output_limit=OUTPUT_LIMIT, timeout=120)
executor.preprocess(nb, {"metadata": {"path": "."}})
print(json.dumps({"grown_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024,
                  "scores": [determine_grade(cell, logging.getLogger())[0] for cell in nb.cells],
                  "notes": executor.notes, "kept": len(nbformat.writes(nb)), "outputs": [cell.outputs for cell in nb.cells]}))
'''


def grade_in_a_process(cells: list[str]) -> dict:
    """Each cell a test cell worth 1 point, graded in the sandbox by a grader process of its own (so that its peak
    memory is its own): the growth of that peak, the scores, the grader's notes, the bytes of notebook kept."""
    if sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not installed")
    done = subprocess.run([sys.executable, "-c", GRADE, json.dumps(cells)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_a_huge_error_is_refused_unread_and_its_test_scores_0():
    """One raise of a 300 MB message: the grader once read it whole, twice (the error, and the reply that carries
    it too), and peaked 2.3 GB higher; the cell before keeps its point, the cells after it do not run."""
    graded = grade_in_a_process(["print('passed')", "raise ValueError('x' * 300_000_000)", "print('after')"])
    assert graded["scores"] == [1, 0, 0], graded["scores"]
    assert any("over the grader's 16 MB limit" in note for note in graded["notes"]), graded["notes"]
    assert graded["grown_mb"] < 200, f"the grader's peak grew by {graded['grown_mb']} MB"
    assert graded["kept"] < 100_000


def test_a_huge_print_is_refused_unread():
    """One print of a 300 MB string, in a test cell that passes otherwise."""
    graded = grade_in_a_process(["print('y' * 300_000_000)"])
    assert graded["scores"] == [0] and any("16 MB limit" in note for note in graded["notes"]), graded
    assert graded["grown_mb"] < 200, f"the grader's peak grew by {graded['grown_mb']} MB"


def test_honest_outputs_are_far_under_the_limit_and_unchanged():
    """A figure of about 1 MB (a solved chapter's largest message), an ordinary failure, a passing test."""
    assert SandboxedKernelManager().client().context.getsockopt(zmq.MAXMSGSIZE) >= 4 * OUTPUT_LIMIT
    graded = grade_in_a_process([
        "import base64, os\nfrom IPython.display import display\n"
        "display({'image/png': base64.b64encode(os.urandom(750_000)).decode()}, raw=True)",
        "assert 1 + 1 == 3, 'an honest mistake'", "print('passed')"])
    assert graded["scores"] == [1, 0, 1] and graded["notes"] == [], graded["notes"]
    assert len(graded["outputs"][0][0]["data"]["image/png"]) == 1_000_000
    assert graded["outputs"][1][0]["evalue"] == "an honest mistake"


def test_a_message_refused_before_the_first_cell_fails_every_test():
    """The kernel's first reply (kernel_info) refused: the notebook ends at once, noted, every test failed."""
    nb = new_notebook(cells=[new_code_cell("print(1)", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": 1, "grade_id": "test", "schema_version": 3}})])
    executor = GraderExecute(config=Config({"SandboxedKernelManager": {"message_mb": 0}}), guard=False, audit=False,
                             sandbox=sandbox.bwrap_path() is not None)
    executor.preprocess(nb, {"metadata": {"path": "."}})
    assert "before the first cell, the kernel sent a message over" in " ".join(executor.notes), executor.notes
    assert nb.cells[0].outputs[-1].ename == "DeadKernelError"
