"""A fabricated class, written as one table: what each student hands in and what it must earn.

Each hand-in names the exercises whose solutions the student pasted in (``solved``)
and the exercises that must earn their points (``earns``, by default the solved
ones); tricks and broken files are edits of the notebook or raw bytes. The
expected scores come from the same table, so the class and its answers cannot
drift apart.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from workbook import cell_by_id, chapter_ids, exercises, source_notebook, submission, written_answers

CH01, CH02, CH03, CH04, CH05, CH06, CH07, CH08, CH09 = chapter_ids()
ALL = "all"

# Chapter 1, exercise 2 answered for the visible test's sizes only: it passes the visible asserts
# and fails the hidden ones, which use other sizes.
HARDCODED_BUILD = '''
def build_simple_autoencoder(input_dim, encoding_dim):
    encoder = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(32, activation="relu")])
    decoder = keras.Sequential([keras.Input(shape=(32,)), keras.layers.Dense(784, activation="sigmoid")])
    autoencoder = keras.Sequential([encoder, decoder])
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy", metrics=["mse"])
    return autoencoder, encoder, decoder
'''


@dataclass(frozen=True)
class Handin:
    chapter: str
    solved: str | set[int] = ALL  # exercise numbers with the solution pasted in, or ALL
    earns: set[int] | None = None  # exercise numbers that must earn their points (default: solved)
    edit: Callable | None = None  # a change to the notebook: a trick the grader must see through
    name: str | None = None  # the file name, when not the chapter's own (path inside the student folder)
    raw: bytes | None = None  # the file's bytes, when it is not a notebook at all
    writes: str | set[int] = frozenset()  # written answers (discussion questions) answered, by number, or ALL

    def numbers(self, which) -> set[int]:
        every = {e.number for e in exercises(self.chapter)}
        return every if which == ALL else set(which)

    def expected(self) -> dict[str, float] | None:
        """{test grade id: points} this hand-in must earn; None when it cannot be graded at all."""
        if self.raw is not None:
            return None
        earning = self.numbers(self.solved if self.earns is None else self.earns)
        earned = {e.test_id: (e.points if e.number in earning else 0.0) for e in exercises(self.chapter)}
        return earned | {w.grade_id: 0.0 for w in written_answers(self.chapter)}  # 0 until graded by hand

    def to_grade_by_hand(self) -> int:
        """How many of this hand-in's written answers wait for a hand grade (the answered ones)."""
        if self.raw is not None or self.expected() is None:
            return 0
        return sum(self.writes == ALL or w.number in self.writes for w in written_answers(self.chapter))

    def write(self, student_folder: Path, flat: bool) -> None:
        default = source_notebook(self.chapter).name if flat else f"{self.chapter}/{source_notebook(self.chapter).name}"
        path = student_folder / (self.name or default)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.raw is not None:
            path.write_bytes(self.raw)
            return
        answers = {exercises(self.chapter)[n - 1].answer_id for n in self.numbers(self.solved)}
        nb = submission(self.chapter, answers)
        for answer in written_answers(self.chapter):
            if self.writes == ALL or answer.number in self.writes:
                cell_by_id(nb, answer.grade_id).source = f"A student's thoughts on {answer.grade_id}."
        if self.edit:
            self.edit(nb)
        nbformat.write(nb, path)


def answer(chapter: str, number: int) -> str:
    return exercises(chapter)[number - 1].answer_id


def grading_cell(chapter: str, number: int) -> str:
    return exercises(chapter)[number - 1].test_id


# -- tricks -------------------------------------------------------------------------------------------------

def rewrite_test_1_to_pass(nb):
    cell_by_id(nb, grading_cell(CH01, 1)).source = "pass"


def hardcode_build(nb):
    cell_by_id(nb, answer(CH01, 2)).source = HARDCODED_BUILD


def delete_test_3(nb):
    nb.cells.remove(cell_by_id(nb, grading_cell(CH01, 3)))


def loop_forever_in_exercise_1(chapter):
    """A loop that never ends (waiting, not spinning: the same timeout and interrupt, without a core
    kept busy for the whole timeout)."""
    def edit(nb):
        cell = cell_by_id(nb, answer(chapter, 1))
        cell.source = "import time\nwhile True:\n    time.sleep(0.1)\n\n" + cell.source
    return edit


def crash_kernel_in_exercise_2(chapter):
    def edit(nb):
        cell_by_id(nb, answer(chapter, 2)).source = "import os\nos._exit(1)"
    return edit


def paste_cells_from_another_copy(nb):
    """A careless student: exercise 2's answer pasted from another notebook, with that notebook's grade id,
    and exercise 3's answer cell duplicated below its test (nbgrader alone fails the whole notebook)."""
    cell_by_id(nb, answer(CH01, 2)).metadata.nbgrader["grade_id"] = answer(CH02, 1)
    tried_again = copy.deepcopy(cell_by_id(nb, answer(CH01, 3)))
    tried_again["id"] = "tried-again"
    nb.cells.insert(nb.cells.index(cell_by_id(nb, grading_cell(CH01, 3))) + 1, tried_again)


# A file name that would clear the instructor's terminal, retitle it and fake a summary line.
ESCAPING_NAME = "ch01 \x1b[2J\x1b]0;owned\x07\n0 problems.ipynb"


def every_other(chapter: str, start: int) -> set[int]:
    return set(range(start, len(exercises(chapter)) + 1, 2))


# -- the class ----------------------------------------------------------------------------------------------

# Every chapter is graded at least once, fully, partly or blank; each notebook costs about half a minute of
# the CI's two cores, so the class is no bigger than its cases need (tests/answers/ grade every exercise).
CLASS: dict[str, tuple[bool, list[Handin]]] = {  # student: (flat folder?, hand-ins)
    "ada": (False, [Handin(ch, writes=ALL) for ch in (CH01, CH02)]),  # written answers wait for a hand grade
    "bob": (True, [Handin(ch, solved=set()) for ch in (CH01, CH03)]),
    # cy hands in half-solved chapters, among them every chapter no other student hands in.
    "cy": (False, [Handin(ch, solved=every_other(ch, 1), writes={1})
                   for ch in (CH01, CH04, CH06, CH07, CH08, CH09)]),
    "dee": (True, [Handin(ch, solved=every_other(ch, 2)) for ch in (CH03, CH05)]),
    # Tricks: a test rewritten to `pass` over a blank answer, an answer hard-coded for the visible
    # test, a deleted test cell (added back, and the solved exercise earns its points).
    "mallory": (False, [Handin(CH01, solved={2, 3, 4}, earns={3, 4},
                               edit=lambda nb: (rewrite_test_1_to_pass(nb), hardcode_build(nb), delete_test_3(nb)))]),
    # Kernels that hang and crash: the hang times out and the rest is graded; the crash keeps what ran
    # before it (exercise 1) and costs the rest of the chapter.
    "eve": (False, [Handin(CH04, earns={2, 3, 4}, edit=loop_forever_in_exercise_1(CH04))]),
    "fay": (True, [Handin(CH05, earns={1}, edit=crash_kernel_in_exercise_2(CH05)), Handin(CH04)]),
    # Broken files: a notebook under an LMS's name (graded), one that is not JSON, a text file.
    "gus": (True, [Handin(CH02, name="ch02_deep (1).ipynb"),
                   Handin(CH03, raw=b'{"cells": [ this is not JSON'),
                   Handin(CH01, name="notes.txt", raw=b"my notes")]),
    "hal": (True, []),  # an empty folder
    # Careless, not hostile: cells pasted from another copy and duplicated (each costs that cell only, so a
    # correct notebook keeps every point), in a file whose name holds terminal escapes (shown escaped).
    "ivy": (True, [Handin(CH01, edit=paste_cells_from_another_copy, name=ESCAPING_NAME)]),
}


def write_class(folder: Path, students: dict = CLASS) -> Path:
    for student, (flat, handins) in students.items():
        (folder / student).mkdir(parents=True)
        for handin in handins:
            handin.write(folder / student, flat)
    return folder


def expected_scores(students: dict = CLASS) -> dict:
    """{student: {chapter: {test grade id: points}}}, for every hand-in that can be graded."""
    found = {}
    for student, (_, handins) in students.items():
        found[student] = {h.chapter: h.expected() for h in handins if h.expected() is not None}
    return found


# -- hostile students: code that attacks the grader from inside an answer cell ----------------------------------
#
# Each hands in chapter 4 with exercises 1 and 2 solved honestly and an attack appended to exercise 3's
# answer cell (after the unsolved function, which it may redefine), so each must earn exactly exercises 1
# and 2. The attacks
# are templates: $solutions, $course, $submissions, $port and $marker are filled in by the test.

HOSTILE_CHAPTER = CH04
ATTACKS = {
    # Read a solution notebook, or the gradebook (which holds every hidden test), and exec the answers.
    "reader": '''
import glob, json, sqlite3
for path in glob.glob("$solutions/*/*.ipynb"):
    for cell in json.load(open(path))["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), globals())
print([row for row in sqlite3.connect("file:$course/gradebook.db?mode=ro", uri=True).execute("select source from source_cell")])
''',
    # Give the whole class full marks: manual_score overrides every automatic score.
    "writer": '''
import sqlite3
with sqlite3.connect("$course/gradebook.db") as db:
    db.execute("update grade set manual_score = 100")
''',
    # Append to other students' hand-ins and the grader's copies of them.
    "meddler": '''
import glob
for path in glob.glob("$submissions/**/*.ipynb", recursive=True) + glob.glob("$course/**/*.ipynb", recursive=True):
    open(path, "a").write("MEDDLED" + "-BY-MEDDLER")
''',
    # Reach the network: a port on the grader's loopback where the test listens.
    "caller": '''
import socket
socket.create_connection(("127.0.0.1", $port), timeout=5).sendall(b"exfiltrated")
''',
    # Leave a process running after grading, in a session of its own.
    "lingerer": '''
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "$marker"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
''',
    # Allocate far past the memory limit, and write a file past the file-size limit.
    "hog": '''
try:
    open("big.bin", "wb").write(b"0" * (512 * 2**20))
except OSError as error:
    print("file:", error)
hoard = bytearray(16 * 2**30)
''',
    # Hold the kernel past the cell timeout: a loop that ignores the interrupt (SIGINT); it waits rather than
    # spins, which changes nothing for the grader and keeps a core free for the test's other work.
    "stubborn": '''
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    time.sleep(0.1)
''',
    # Print a flood: 100 MB of output.
    "flooder": '''
for _ in range(100):
    print("x" * 1_000_000)
''',
    # Make failing asserts pass: numpy's comparisons replaced by ones that always succeed.
    "patcher": '''
import numpy
def bernoulli_kl(p, q, eps=1e-7):
    return numpy.full(numpy.shape(q), 2.0)
numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.isclose = lambda *args, **kwargs: numpy.True_
numpy.allclose = lambda *args, **kwargs: True
''',
    # Objects whose every comparison succeeds and whose every attribute and call returns another one.
    "magician": '''
class Anything:
    def __eq__(self, other): return True
    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = lambda self, other: True
    def __bool__(self): return True
    def __getattr__(self, name): return Anything()
    def __call__(self, *args, **kwargs): return Anything()
    def __getitem__(self, key): return Anything()
    def __float__(self): return 0.0
    def __array__(self, *args, **kwargs): return __import__("numpy").asarray(True)
bernoulli_kl = Anything()
''',
    # Claim the points: an execute_result published in the test cell, which nbgrader reads as a
    # partial-credit score when it comes before the test's error.
    "scorer": '''
def bernoulli_kl(p, q, eps=1e-7):
    get_ipython().displayhook(2.0)
    return 0.0
''',
    # Silence failures: IPython's traceback hooks, and a transformer that wraps every cell in try/except.
    "silencer": '''
import textwrap
def bernoulli_kl(p, q, eps=1e-7):
    return 0.0
shell = get_ipython()
shell.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
shell.showtraceback = lambda *args, **kwargs: None
shell.input_transformers_cleanup.append(
    lambda lines: ["try:\\n"] + ["    " + line for line in lines] + ["\\nexcept BaseException:\\n    pass\\n"])
''',
}


def attack(name: str, **values) -> Callable:
    from string import Template

    def edit(nb):
        cell = cell_by_id(nb, answer(HOSTILE_CHAPTER, 3))
        cell.source += "\n" + Template(ATTACKS[name]).substitute(values)
    return edit


def hostile_class(**values) -> dict:
    """An honest student beside one student per attack."""
    honest = {"ada": (False, [Handin(HOSTILE_CHAPTER)])}
    return honest | {name: (False, [Handin(HOSTILE_CHAPTER, solved={1, 2}, edit=attack(name, **values))])
                     for name in ATTACKS}


# -- students who reach into the grading machinery (issue 21) ----------------------------------------------------
#
# Each hands in chapter 1 blank, with one trick appended to exercise 1's answer cell (after the unsolved
# function); the static audit (aeworkbook.course.audit) must flag each, whatever the trick earns. The
# tricks are the issue's: each got 10/10 past the guard that ran in the kernel.

TAMPERING_CHAPTER = CH01
TAMPERING = {
    # IPython's compiler patched: every cell compiles to a print.
    "compiler": '''
import IPython.core.compilerop as compilerop
compilerop.CachingCompiler.ast_parse = lambda self, source, *args, **kwargs: __import__("ast").parse("print('ok')")
''',
    # The kernel's do_execute replaced at class level.
    "executor": '''
kernel_class = type(get_ipython().kernel)
genuine = kernel_class.do_execute
def do_execute(self, code, *args, **kwargs):
    return genuine(self, "pass" if "assert" in code else code, *args, **kwargs)
kernel_class.do_execute = do_execute
''',
    # The guard's module swapped in sys.modules for one whose restore does nothing.
    "swapper": '''
import sys, types
fake = types.ModuleType("aeworkbook.course.guard")
fake.snapshot = fake.restore = lambda: []
sys.modules["aeworkbook.course.guard"] = fake
''',
    # The guard's restore itself replaced.
    "unguarded": '''
from aeworkbook.course import guard
guard.restore = lambda: []
''',
    # A global __import__ in the notebook that hands the grader's expression a fake guard.
    "importer": '''
class FakeGuard:
    def restore(self): return []
def __import__(name, *args, **kwargs):
    return FakeGuard()
''',
    # A pre_run_cell callback that passes itself off as NumPy's.
    "hooker": '''
def reinstall(info):
    get_ipython().ast_transformers[:] = []
reinstall.__module__ = "numpy"
get_ipython().events.register("pre_run_cell", reinstall)
''',
    # A text/plain printer for lists, called after the guard's report.
    "printer": '''
ip = get_ipython()
ip.display_formatter.formatters["text/plain"].for_type(list, lambda value, printer, cycle: printer.text("[]"))
''',
    # The guard's snapshot found among all objects and emptied.
    "walker": '''
import gc
for obj in gc.get_objects():
    if isinstance(obj, dict) and "namespaces" in obj and "events" in obj:
        obj["namespaces"] = []
''',
    # numpy.testing's assertions given the code of a function that does nothing (same function objects).
    "recoder": '''
import numpy.testing
def nothing(*args, **kwargs): return None
numpy.testing.assert_allclose.__code__ = nothing.__code__
''',
    # A trace function that jumps over every assert line.
    "tracer": '''
import sys
def jump(frame, event, arg):
    if event == "line" and "assert" in (frame.f_code.co_filename or ""):
        frame.f_lineno += 1
    return jump
sys.settrace(jump)
''',
    # np.testing and keras.utils replaced by proxies whose every function passes.
    "proxy": '''
class Proxy:
    def __getattr__(self, name): return lambda *args, **kwargs: None
np.testing = Proxy()
keras.utils = Proxy()
''',
    # np, keras and isinstance rebound in the notebook's namespace, where the test cells look first.
    "rebinder": '''
class Anything:
    def __getattr__(self, name): return lambda *args, **kwargs: True
np, keras = Anything(), Anything()
isinstance = lambda *args: True
''',
    # The workbook's checks served by a fake, through the package's module __getattr__ (a fresh import in a
    # test cell looks there first once the submodule is gone).
    "fakechecks": '''
import aeworkbook as package
class FakeChecks:
    def record_fit(self, model): return [{"x": None, "y": None}]
    def same_array(self, a, b): return True
package.__getattr__ = lambda name: FakeChecks() if name == "checks" else None
''',
    # The kernel's own messaging made to lie: its Session's send drops every error and turns every failed reply
    # into a pass, except for the grader's canaries (found by their text). A blank notebook got full marks,
    # unflagged: the shell came from matplotlib_inline's module, the class from type().
    "liar": '''
import matplotlib_inline.backend_inline as backend
S = type(backend.get_ipython().kernel.session)
if not hasattr(S, "honest"):
    S.honest = S.send
    def send(self, stream, msg_or_type, content=None, parent=None, *args, **kwargs):
        if "canary" not in str(((parent or {}).get("content") or {}).get("code", "")):
            if msg_or_type == "error":
                return None
            if msg_or_type == "execute_reply" and (content or {}).get("status") == "error":
                content = {"status": "ok", "execution_count": content.get("execution_count"),
                           "user_expressions": {}, "payload": []}
        return S.honest(self, stream, msg_or_type, content, parent, *args, **kwargs)
    S.send = send
''',
}


def tamper(name: str) -> Callable:
    def edit(nb):
        cell_by_id(nb, answer(TAMPERING_CHAPTER, 1)).source += "\n" + TAMPERING[name]
    return edit


def add_cell_above_set_up(nb):
    """A cell of the student's own above the read-only set-up: it runs before the grader's snapshot."""
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        "import numpy\nnumpy.allclose = lambda *args, **kwargs: True\n"))


def tampering_class() -> dict:
    """One blank chapter-1 hand-in per trick, plus one with a cell added above the set-up cell."""
    students = {name: (False, [Handin(TAMPERING_CHAPTER, solved=set(), edit=tamper(name))]) for name in TAMPERING}
    return students | {"upstairs": (False, [Handin(TAMPERING_CHAPTER, solved=set(), edit=add_cell_above_set_up)])}


# A student who reads the test cells back every way it can, and prints what it finds in its own cells: the
# input history (In, _ih, the history database), linecache, ipykernel's cell files, pre_run_cell's
# ExecutionInfo, a do_execute patched to keep each request's code, a trace function reading each frame's
# file, and a display that a post_run_cell callback updates afterwards. Appended to every answer cell of a
# blank chapter 1.
EXFILTRATE = '''
import glob, linecache, sys
shell = get_ipython()
if "seen" not in globals():
    seen, files, handle = [], set(), display("listening", display_id=True)
def keep_cell(info):
    seen.append(info.raw_cell)
def show(result):
    handle.update("\\n".join(seen))
shell.events.register("pre_run_cell", keep_cell)
shell.events.register("post_run_cell", show)
kernel_class = type(shell.kernel)
if not hasattr(kernel_class, "genuine_execute"):
    kernel_class.genuine_execute = kernel_class.do_execute
async def do_execute(self, code, *args, **kwargs):
    seen.append(code)
    return await kernel_class.genuine_execute(self, code, *args, **kwargs)
kernel_class.do_execute = do_execute
def tracer(frame, event, arg):
    name = frame.f_code.co_filename
    if event == "call" and name not in files and name.startswith(("<", "/tmp")):  # cells, not libraries
        files.add(name)
        seen.append("".join(linecache.getlines(name)))
sys.settrace(tracer)
print("\\n".join(In + _ih))  # plain text, so that the test finds every line as written
print("\\n".join(entry[2] for entry in shell.history_manager.get_range(raw=True)))
print("\\n".join("".join(entry[2]) for entry in list(linecache.cache.values()) if len(entry) > 2))
print("\\n".join(open(path).read() for path in glob.glob("/tmp/**/*.py", recursive=True)))
print("\\n".join(seen))
'''


def exfiltrate(nb):
    for exercise in exercises(TAMPERING_CHAPTER):
        cell_by_id(nb, exercise.answer_id).source += "\n" + EXFILTRATE


def exfiltrating_class() -> dict:
    return {"snoop": (False, [Handin(TAMPERING_CHAPTER, solved=set(), edit=exfiltrate)])}
