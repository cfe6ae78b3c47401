"""Plausible wrong answers, graded exactly as the grader grades them (issue 11).

``tests/answers/<chapter>.yaml`` holds, for each answer cell, wrong answers (must earn 0), correct
alternatives (must earn full marks) and accepted ones (wrong, but no test can tell; recorded only).
The released stub (the student version's answer cell, unsolved) must earn 0, and three tricks are
added to every exercise: the requested names as objects equal to anything, the same with NumPy's
checks made to always pass, and an unsolved cell with IPython's tracebacks silenced.

One kernel per chapter, started once with nbgrader's executor: the notebook's cells run in order
with the solution; at each exercise the kernel's namespace is saved, every candidate runs in the
answer cell's place followed by the real test cell (visible and hidden tests), the test cell is
scored with nbgrader's ``determine_grade`` (an error or anything on stderr scores 0), and the
namespace is put back before the solution continues.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from aeworkbook.course.catalogue import nbgrader_meta, read_exercises, solution_text
from aeworkbook.course.execute import GraderExecute
from aeworkbook.course.nbconfig import CELL_TIMEOUT, put_tools_on_path
from aeworkbook.course.validate import environment, error_message, kernel_chatter_hidden

ANSWERS = Path(__file__).resolve().parent / "answers"
KINDS = ("solution", "right", "wrong", "accepted", "stub", "magic", "patched_asserts", "silenced_tracebacks")
FULL_MARKS = ("solution", "right")  # kinds that must earn the exercise's points; the rest but "accepted" 0
# Tricks that only the grader's guard (aeworkbook.course.execute.GraderExecute) can defeat.
GUARDED_TRICKS = ("patched_asserts", "silenced_tracebacks")


@dataclass(frozen=True)
class Candidate:
    answer_id: str
    kind: str
    why: str
    code: str

    @property
    def label(self) -> str:
        return f"{self.answer_id} [{self.kind}] {self.why}"


@dataclass
class Graded:
    candidate: Candidate
    earned: float
    points: float
    message: str  # the test cell's first error line, if any
    seconds: float = 0.0  # the candidate and the test cell

    @property
    def problem(self) -> str | None:
        """Why this result breaks the rules, or None."""
        kind = self.candidate.kind
        if kind in FULL_MARKS and self.earned != self.points:
            return f"{self.candidate.label}: earned {self.earned:g}/{self.points:g}, expected full marks ({self.message})"
        if kind not in FULL_MARKS + ("accepted",) and self.earned != 0:
            return f"{self.candidate.label}: earned {self.earned:g}/{self.points:g}, expected 0"
        return None


@dataclass
class ChapterRun:
    chapter: str
    results: list[Graded] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the solution's own cells that failed
    seconds: float = 0.0


def read_answers(chapter: str) -> dict:
    return yaml.safe_load((ANSWERS / f"{chapter}.yaml").read_text()) or {}


def chapters_with_answers() -> list[str]:
    return sorted(path.stem for path in ANSWERS.glob("*.yaml"))


def requested_names(solution: str) -> list[str]:
    """What the answer cell defines at top level: the names the test cell uses."""
    names = []
    for node in ast.parse(solution).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return names


ANYTHING = '''\
class Anything:
    """Equal to everything; every attribute, call, index and sum gives another one."""
    def __getattr__(self, name): return Anything()
    def __call__(self, *args, **kwargs): return Anything()
    def __getitem__(self, key): return Anything()
    def __eq__(self, other): return True
    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __hash__ = object.__hash__
    def __bool__(self): return True
    def __iter__(self): return iter([Anything(), Anything(), Anything()])
    def __len__(self): return 3
    def __add__(self, other): return Anything()
    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __pow__ = __add__
    def __neg__(self): return Anything()
    __abs__ = __neg__
'''

PATCHED_ASSERTS = '''\
import numpy, numpy.testing
def always_passes(*args, **kwargs): return None
numpy.testing.assert_allclose = numpy.testing.assert_array_equal = always_passes
numpy.testing.assert_array_almost_equal = numpy.testing.assert_almost_equal = always_passes
numpy.testing.assert_equal = always_passes
numpy.allclose = lambda *args, **kwargs: True
numpy.isclose = lambda *args, **kwargs: True
'''

SILENCED_TRACEBACKS = '''\
# unsolved, and errors hidden
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
get_ipython().showtraceback = lambda *args, **kwargs: None
'''


def tricks(answer_id: str, solution: str) -> list[Candidate]:
    names = requested_names(solution)
    magic = ANYTHING + "".join(f"{name} = Anything()\n" for name in names)
    return [Candidate(answer_id, "magic", "every requested name equal to anything", magic),
            Candidate(answer_id, "patched_asserts", "names equal to anything, NumPy's checks always pass",
                      PATCHED_ASSERTS + magic),
            Candidate(answer_id, "silenced_tracebacks", "unsolved, IPython's tracebacks silenced",
                      SILENCED_TRACEBACKS)]


def candidates(answer_id: str, solution: str, stub: str, listed: dict) -> list[Candidate]:
    """The solution, the YAML's candidates for this answer cell, the released stub, then the tricks."""
    found = [Candidate(answer_id, "solution", "the solution", solution)]
    for kind in ("right", "wrong", "accepted"):
        found += [Candidate(answer_id, kind, entry["why"], entry["code"]) for entry in listed.get(kind) or []]
    return found + [Candidate(answer_id, "stub", "the released stub, unsolved", stub)] + tricks(answer_id, solution)


# Kept in a module of its own inside the kernel, out of the notebook's namespace.
KERNEL_HELPER = '''
import sys
import numpy, numpy.testing
from IPython import get_ipython

PATCHABLE = [(numpy.testing, name) for name in ("assert_allclose", "assert_array_equal",
             "assert_array_almost_equal", "assert_almost_equal", "assert_equal")]
PATCHABLE += [(numpy, "allclose"), (numpy, "isclose"), (sys, "stdout"), (sys, "stderr")]

def save():
    global names, attributes
    names = dict(get_ipython().user_ns)
    attributes = [(owner, name, getattr(owner, name)) for owner, name in PATCHABLE]

def restore():
    shell = get_ipython()
    for name in [name for name in shell.user_ns if name not in names]:
        del shell.user_ns[name]
    shell.user_ns.update(names)
    for owner, name, value in attributes:
        setattr(owner, name, value)
    shell.set_custom_exc((), None)
    shell.__dict__.pop("showtraceback", None)
'''
INSTALL_HELPER = ("__import__('sys').modules['wrong_answer_harness'] = __import__('types').ModuleType("
                  "'wrong_answer_harness'); exec(%r, __import__('sys').modules['wrong_answer_harness'].__dict__)"
                  % KERNEL_HELPER)
SAVE = "__import__('wrong_answer_harness').save()"
RESTORE = "__import__('wrong_answer_harness').restore()"


HARNESS_CELL = {"nbgrader": {"locked": True}}  # the harness's own cells: read-only, so the guard treats them as set-up


def code_cell(source: str, metadata: dict | None = None):
    return nbformat.v4.new_code_cell(source, metadata=metadata or HARNESS_CELL)


def run_chapter(chapter: str, notebook: Path, released: Path, answers: dict, **options) -> ChapterRun:
    """Grade every candidate of every exercise of ``notebook`` (a source notebook in solutions/; its student
    version ``released`` gives the stubs). ``options`` go to the executor (for trials on a busy machine,
    e.g. a longer ``iopub_timeout``)."""
    from nbgrader.utils import determine_grade

    started = time.perf_counter()
    run = ChapterRun(chapter)
    nb = nbformat.read(notebook, as_version=4)
    exercises = {e.answer_id: e for e in read_exercises(nb)}
    stubs = {nbgrader_meta(cell).get("grade_id"): cell.source for cell in nbformat.read(released, as_version=4).cells}
    put_tools_on_path()
    executor = GraderExecute(**{"timeout": CELL_TIMEOUT, **options})  # the grader's own executor
    executor.nb, executor.resources = nb, {"metadata": {"path": str(notebook.parent)}}

    def execute(cell, index):
        executor.execute_cell(cell, index)
        executor.run_hidden_tests()  # the grader runs them after the notebook's last cell
        return cell

    with environment(NBGRADER_EXECUTION="autograde", AEWORKBOOK_PROFILE="fast"), kernel_chatter_hidden():
        with executor.setup_kernel():
            execute(code_cell(INSTALL_HELPER), 0)
            answer_id = None
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                meta = nbgrader_meta(cell)
                if meta.get("solution") and meta.get("grade_id") in exercises:
                    answer_id = meta["grade_id"]
                    solution = solution_text(cell.source)
                    test_index, test = next((i, c) for i, c in enumerate(nb.cells)
                                            if nbgrader_meta(c).get("grade_id") == exercises[answer_id].test_id)
                    for candidate in candidates(answer_id, solution, stubs[answer_id], answers.get(answer_id) or {}):
                        if candidate.kind == "solution":
                            continue  # graded below, in the notebook's own run
                        execute(code_cell(SAVE), index)
                        tick = time.perf_counter()
                        execute(code_cell(candidate.code, cell.metadata), index)
                        graded = execute(code_cell(test.source, test.metadata), test_index)
                        execute(code_cell(RESTORE), index)
                        run.results.append(grade(candidate, graded, determine_grade, time.perf_counter() - tick))
                    cell = code_cell(solution, cell.metadata)
                    execute(cell, index)
                    if error_message(cell):
                        run.errors.append(f"solution cell {answer_id}: {error_message(cell)}")
                    continue
                cell = execute(code_cell(cell.source, cell.metadata), index)
                if meta.get("grade") and answer_id:
                    run.results.append(grade(Candidate(answer_id, "solution", "the solution", ""), cell,
                                             determine_grade))
                    answer_id = None
                elif error_message(cell):
                    run.errors.append(f"cell {index + 1}: {error_message(cell)}")
    run.seconds = time.perf_counter() - started
    return run


def grade(candidate: Candidate, test_cell, determine_grade, seconds: float = 0.0) -> Graded:
    earned, points = determine_grade(test_cell)
    return Graded(candidate, float(earned or 0), float(points), error_message(test_cell), seconds)
