"""Run a notebook as the grader would and say, exercise by exercise, how it fares.

nbgrader's own ``validate`` exits 0 even when a test fails and reports cells, not
exercises; this runs the notebook in the fast profile with nbgrader's executor
and scores each test cell with nbgrader's own rule (an error or anything on
stderr scores 0). The notebook on disk is never changed.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .catalogue import (Chapter, Workbook, WorkbookError, chapter_of, chapters, nbgrader_meta, read_exercises,
                        read_written_answers)
from .feedback import ANSI
from .nbconfig import CELL_TIMEOUT, put_tools_on_path

PASSED, FAILED, NOT_ATTEMPTED, NOT_RUN = "passed", "failed", "not attempted", "not run"
ANSWERED, NOT_ANSWERED = "answered", "not answered"  # written answers: the instructor grades them by hand


class NotebookUnreadable(WorkbookError):
    """The file is missing, is not JSON, or is not a notebook."""


@dataclass
class ExerciseResult:
    number: int
    answer_id: str
    points: float
    status: str
    earned: float = 0.0
    message: str = ""  # the first line of the error, for a failed exercise
    test_changed: bool = False  # the student edited the test cell (the grader restores it)


@dataclass
class WrittenResult:
    number: int
    grade_id: str
    points: float
    status: str  # ANSWERED or NOT_ANSWERED


@dataclass
class Validation:
    path: Path
    chapter: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    other_errors: list[str] = field(default_factory=list)  # cells outside the exercises that failed
    stopped: str | None = None  # why execution stopped early (a dead kernel)
    written: list[WrittenResult] = field(default_factory=list)  # graded by hand: never a failure here

    @property
    def earned(self) -> float:
        return sum(e.earned for e in self.exercises)

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def ok(self) -> bool:
        return all(e.status == PASSED for e in self.exercises) and not self.stopped


def read_notebook(path: Path):
    """The notebook at ``path``, or NotebookUnreadable saying why not."""
    if not path.is_file():
        raise NotebookUnreadable(f"{path}: no such file")
    if path.suffix != ".ipynb":
        raise NotebookUnreadable(f"{path}: not a notebook (expected a .ipynb file)")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # JSON errors, schema errors, bad encodings
        raise NotebookUnreadable(f"{path}: not a valid notebook ({first_line(str(error))})") from None


def first_line(text: str, lines: int = 1) -> str:
    found = [line.strip() for line in ANSI.sub("", text).splitlines() if line.strip()]
    return " / ".join(found[:lines])[:200]


def error_message(cell) -> str:
    """The first line a student needs: ``AssertionError: the code layer should have 32 units``."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            # Two lines: numpy's assertions put the test's own message on the second.
            return f"{output.ename}: {first_line(output.evalue, 2)}" if first_line(output.evalue) else output.ename
        if output.output_type == "stream" and output.name == "stderr":
            return "wrote to stderr (scores 0): " + first_line(output.text)
    return ""


def unchanged_answer(cell) -> bool:
    """The answer cell is as released: nbgrader's checksum of it still matches."""
    from nbgrader.utils import compute_checksum

    return nbgrader_meta(cell).get("checksum") == compute_checksum(cell)


@contextmanager
def environment(**values: str):
    """Set variables for the kernel to inherit, then restore ours. (nbgrader 0.9.6's ``utils.setenv``
    restores the wrong values: it looks the old ones up by the new value, and so deletes them.)"""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def kernel_chatter_hidden():
    """Kernels inherit our stderr and print start-up warnings on it; keep them out of the report."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def execute(nb, folder: Path, cell_timeout: int, sandbox: bool = False) -> str | None:
    """Execute ``nb`` in place in the fast profile, with the grader's executor (in its sandbox, if asked);
    return why it stopped early, if it did."""
    from nbgrader.preprocessors import ClearOutput

    from .execute import GraderExecute
    from .sandbox import check_available

    put_tools_on_path()
    if sandbox:
        check_available()
    nb, resources = ClearOutput().preprocess(nb, {})
    executor = GraderExecute(timeout=cell_timeout, sandbox=sandbox, audit=False)  # flags are for the grader's report
    with environment(NBGRADER_EXECUTION="validate", AEWORKBOOK_PROFILE="fast"):
        with kernel_chatter_hidden():
            executor.preprocess(nb, {"metadata": {"path": str(folder)}})
    return executor.died


def validate(path: Path, workbook: Workbook | None = None, cell_timeout: int = CELL_TIMEOUT,
             sandbox: bool = False) -> Validation:
    from nbgrader.utils import compute_checksum, determine_grade

    path = Path(path)
    nb = read_notebook(path)
    known = chapters(workbook.solutions) if workbook else []
    chapter: Chapter | None = chapter_of(nb, known)
    exercises = chapter.exercises if chapter else read_exercises(nb)
    written = chapter.written if chapter else read_written_answers(nb)
    if not exercises:
        raise NotebookUnreadable(f"{path}: no graded exercises in this notebook")
    stopped = execute(nb, path.resolve().parent, cell_timeout, sandbox)

    by_id = {nbgrader_meta(cell).get("grade_id"): cell for cell in nb.cells}
    result = Validation(path, chapter.id if chapter else path.stem)
    exercise_ids = {i for e in exercises for i in (e.answer_id, e.test_id)}
    for exercise in exercises:
        answer, test = by_id.get(exercise.answer_id), by_id.get(exercise.test_id)
        entry = ExerciseResult(exercise.number, exercise.answer_id, exercise.points, FAILED)
        if answer is not None and unchanged_answer(answer):
            entry.status = NOT_ATTEMPTED
        elif test is None:
            entry.message = "the test cell is missing (the grader puts it back)"
        elif test.get("execution_count") is None:
            entry.status, entry.message = NOT_RUN, stopped or "not executed"
        else:
            test.metadata.nbgrader["points"] = exercise.points  # the workbook's points, not the copy's
            score, _ = determine_grade(test)
            entry.earned = float(score or 0)
            entry.status = PASSED if entry.earned == exercise.points else FAILED
            entry.message = "" if entry.status == PASSED else error_message(test) or "no points"
        if test is not None and "checksum" in nbgrader_meta(test):
            entry.test_changed = nbgrader_meta(test)["checksum"] != compute_checksum(test)
        result.exercises.append(entry)
    for index, cell in enumerate(nb.cells, start=1):
        if nbgrader_meta(cell).get("grade_id") not in exercise_ids and error_message(cell):
            result.other_errors.append(f"cell {index}: {error_message(cell)}")
    for answer in written:
        cell = by_id.get(answer.grade_id)
        answered = cell is not None and not unchanged_answer(cell) and cell.source.strip() != ""
        result.written.append(WrittenResult(answer.number, answer.grade_id, answer.points,
                                            ANSWERED if answered else NOT_ANSWERED))
    result.stopped = stopped
    return result


def describe(result: Validation) -> str:
    """The report a student reads: one line an exercise, then the points."""
    lines = [f"{result.path} ({result.chapter}, run as the grader runs it)"]
    for e in result.exercises:
        line = f"  {e.number}. {e.answer_id:<28} {e.status:<14} {e.earned:g} / {e.points:g}"
        if e.message:
            line += f"   {e.message}"
        lines.append(line)
        if e.test_changed:
            lines.append("     note: you changed this test cell; the grader uses the original")
    if result.other_errors:
        lines.append("  other cells that failed (often a consequence of an exercise above): "
                     + "; ".join(result.other_errors))
    if result.stopped:
        lines.append(f"  stopped early: {result.stopped}")
    if result.written:
        lines.append("  written answers (graded by hand, not checked here):")
        for w in result.written:
            lines.append(f"  Q{w.number}. {w.grade_id:<27} {w.status:<14} ? / {w.points:g}")
    lines.append(f"  points: {result.earned:g} / {result.points:g}" + ("" if result.ok else "   (not all passed)"))
    if result.written:
        lines.append(f"  plus up to {sum(w.points for w in result.written):g} points for written answers, "
                     "graded by hand")
    return "\n".join(lines)
