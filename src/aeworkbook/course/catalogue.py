"""What the workbook holds: its folders, its chapters and their graded exercises.

Read from the notebooks' nbgrader metadata, so that the command-line tools, the
tests and the benchmark agree on one list without a second copy of it.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat

SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


class WorkbookError(Exception):
    """A problem with the workbook's own files (not with a student's submission)."""


@dataclass(frozen=True)
class Workbook:
    """The workbook's folders: instructor sources and student versions."""

    root: Path

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def chapters(self) -> Path:
        return self.root / "chapters"

    @classmethod
    def find(cls, start: Path | None = None) -> "Workbook":
        """``$AEWORKBOOK_ROOT``, else the nearest folder holding ``solutions/`` and ``autograder/`` at or
        above ``start`` (the working directory), else the checkout this package was installed from."""
        if os.environ.get("AEWORKBOOK_ROOT"):
            return cls(Path(os.environ["AEWORKBOOK_ROOT"]).resolve())
        here = (start or Path.cwd()).resolve()
        candidates = [here, *here.parents, Path(__file__).resolve().parents[3]]
        for folder in candidates:
            if cls.holds_workbook(folder):
                return cls(folder)
        raise WorkbookError("cannot find the workbook (a folder with solutions/ and autograder/): "
                            "run from inside it or set AEWORKBOOK_ROOT")

    @classmethod
    def at(cls, folder: Path) -> "Workbook":
        """The workbook in ``folder`` (``--workbook``), refused with a clear error if it is not one."""
        folder = folder.resolve()
        if not cls.holds_workbook(folder):
            raise WorkbookError(f"{folder} is not the workbook: it has no solutions/ and autograder/ folders")
        return cls(folder)

    @staticmethod
    def holds_workbook(folder: Path) -> bool:
        return (folder / "solutions").is_dir() and (folder / "autograder").is_dir()


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}  # a submitted notebook's metadata may be anything


@dataclass(frozen=True)
class Exercise:
    """One answer cell and the graded test cell after it."""

    number: int
    answer_id: str
    test_id: str
    points: float


@dataclass(frozen=True)
class WrittenAnswer:
    """A discussion question: a read-only question cell, then a markdown answer cell that the instructor
    grades by hand (nbgrader's "manually graded answer"). Not an exercise: no test cell scores it."""

    number: int
    grade_id: str  # the answer cell's
    points: float
    question: str  # the question cell's text, "" when the answer has no question cell before it


@dataclass(frozen=True)
class Chapter:
    id: str
    notebook: str  # file name, e.g. "ch01_simple_sparse.ipynb"
    exercises: tuple[Exercise, ...]  # auto-graded
    written: tuple[WrittenAnswer, ...] = ()  # graded by hand
    cells: tuple[tuple[str, str], ...] = ()  # (grade id, nbgrader metadata as JSON) of its nbgrader cells, in order

    @property
    def points(self) -> float:
        """The auto-graded points."""
        return sum(exercise.points for exercise in self.exercises)

    @property
    def written_points(self) -> float:
        return sum(answer.points for answer in self.written)

    @property
    def max_points(self) -> float:
        """Everything the chapter can earn: what nbgrader's gradebook calls its max score."""
        return self.points + self.written_points

    @property
    def grade_ids(self) -> set[str]:
        """The graded cells' ids: answers, tests and written answers."""
        return {i for e in self.exercises for i in (e.answer_id, e.test_id)} | {w.grade_id for w in self.written}


def read_exercises(nb) -> tuple[Exercise, ...]:
    """The exercises of a notebook, in order: each graded test cell with the answer cell before it."""
    found, answer_id = [], None
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            answer_id = meta.get("grade_id")
        elif meta.get("grade"):
            found.append(Exercise(len(found) + 1, answer_id or "", meta["grade_id"], float(meta.get("points") or 0)))
            answer_id = None
    return tuple(found)


def is_written_answer(cell) -> bool:
    """nbgrader's manually graded answer in the workbook's form: a markdown cell that is graded and a solution."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "markdown" and bool(meta.get("grade")) and bool(meta.get("solution"))


def read_written_answers(nb) -> tuple[WrittenAnswer, ...]:
    """The discussion questions' answer cells, in order, each with the question cell before it."""
    found, previous = [], None
    for cell in nb.cells:
        if is_written_answer(cell):
            meta = nbgrader_meta(cell)
            question = previous.source if previous is not None and previous.cell_type == "markdown" else ""
            found.append(WrittenAnswer(len(found) + 1, meta["grade_id"], float(meta.get("points") or 0), question))
        previous = cell
    return tuple(found)


def chapters(folder: Path) -> list[Chapter]:
    """The chapters in ``folder`` (``solutions/`` or ``chapters/``): one sub-folder and notebook each."""
    found = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        notebooks = sorted(sub.glob("*.ipynb"))
        if len(notebooks) == 1:
            nb = nbformat.read(notebooks[0], as_version=4)
            found.append(Chapter(sub.name, notebooks[0].name, read_exercises(nb), read_written_answers(nb),
                                 nbgrader_cells(nb)))
        elif len(notebooks) > 1:
            raise WorkbookError(f"{sub}: a chapter folder holds one notebook, found {[p.name for p in notebooks]}")
    return found


def nbgrader_cells(nb) -> tuple[tuple[str, str], ...]:
    """Every cell nbgrader tracks (answers, tests, written answers, read-only cells): its grade id, and its
    nbgrader metadata with its cell type."""
    return tuple((meta["grade_id"], json.dumps({**meta, "cell_type": cell.cell_type}, sort_keys=True))
                 for cell, meta in zip(nb.cells, map(nbgrader_meta, nb.cells)) if meta.get("grade_id"))


def chapter_of(nb, known: list[Chapter]) -> Chapter | None:
    """The chapter whose graded cells the notebook carries (whatever the file is called), or None."""
    ids = {grade_id for cell in nb.cells if isinstance(grade_id := nbgrader_meta(cell).get("grade_id"), str)}
    best = max(known, key=lambda ch: len(ids & ch.grade_ids), default=None)
    if best is None or not ids & best.grade_ids:
        return None
    return best


def solution_text(source: str) -> str:
    """An answer cell's source with the solution markers removed."""
    return SOLUTION_MARKERS.sub("", source)


def source_problems(nb, name: str) -> list[str]:
    """What would make nbgrader produce a broken student version from this source notebook."""
    problems = []
    for index, cell in enumerate(nb.cells, start=1):
        meta = nbgrader_meta(cell)
        where = f"{name}, cell {index}" + (f" ({meta['grade_id']})" if meta.get("grade_id") else "")
        for region in ("SOLUTION", "HIDDEN TESTS"):
            begins = len(re.findall(rf"### BEGIN {region}\b", cell.source))
            ends = len(re.findall(rf"### END {region}\b", cell.source))
            if begins != ends:
                problems.append(f"{where}: '### BEGIN {region}' without a matching '### END {region}'")
        if meta.get("grade") and not meta.get("solution") and not float(meta.get("points") or 0) > 0:
            problems.append(f"{where}: a graded test cell without points")
        if meta.get("grade") and cell.cell_type == "code" and not hidden_tests_stand_alone(cell):
            problems.append(f"{where}: the hidden tests must be whole statements at the top level of the cell (not "
                            "inside a block): the grader runs them on their own, after the notebook's last cell")
        if meta.get("grade") and meta.get("solution"):
            problems += [f"{where}: {p}" for p in written_answer_problems(cell)]
        if (meta.get("grade") or meta.get("solution") or meta.get("locked")) and not meta.get("grade_id"):
            problems.append(f"{where}: an nbgrader cell without a grade id")
    return problems


def hidden_tests_stand_alone(cell) -> bool:
    """A test cell's hidden regions parse on their own (the grader runs them apart from the visible part)."""
    import ast

    regions = re.findall(r"^### BEGIN HIDDEN TESTS.*?^### END HIDDEN TESTS", cell.source, re.M | re.S)
    if cell.source.count("### BEGIN HIDDEN TESTS") != len(regions):
        return False  # an indented region: inside a block
    try:
        ast.parse("\n".join(regions))
    except SyntaxError:
        return False
    return True


def written_answer_problems(cell) -> list[str]:
    """A manually graded answer must be the workbook's written answer: markdown, with points, and in
    ``solutions/`` a model answer and rubric that nbgrader replaces whole (no solution markers)."""
    if cell.cell_type != "markdown":
        return ["a manually graded code cell (use an answer cell and a test cell, or a markdown written answer)"]
    problems = []
    if not float(nbgrader_meta(cell).get("points") or 0) > 0:
        problems.append("a written answer without points")
    if "### BEGIN SOLUTION" in cell.source or "### END SOLUTION" in cell.source:
        problems.append("a written answer with solution markers (its whole text is the model answer)")
    if "**Model answer.**" not in cell.source or "**Rubric" not in cell.source:
        problems.append("a written answer needs '**Model answer.**' and '**Rubric (P points).**' for the grader")
    return problems


def duplicate_grade_ids(notebooks: dict[str, object]) -> list[str]:
    """Grade ids used more than once across the given notebooks ({name: notebook})."""
    owners = Counter()
    places = {}
    for name, nb in notebooks.items():
        for cell in nb.cells:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if grade_id:
                owners[grade_id] += 1
                places.setdefault(grade_id, []).append(name)
    return [f"grade id {gid!r} is used {n} times ({', '.join(places[gid])})" for gid, n in owners.items() if n > 1]
