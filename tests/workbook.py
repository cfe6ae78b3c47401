"""What the tests know about the workbook: its chapters, their exercises, and fabricated submissions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
CHAPTERS = ROOT / "chapters"

SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


def chapter_ids() -> list[str]:
    """Every chapter with a source notebook, in order."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and list(p.glob("*.ipynb")))


def source_notebook(chapter: str) -> Path:
    (path,) = sorted((SOLUTIONS / chapter).glob("*.ipynb"))
    return path


def student_notebook(chapter: str) -> Path:
    return CHAPTERS / chapter / source_notebook(chapter).name


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@dataclass(frozen=True)
class Exercise:
    """One answer cell and the graded test cell after it."""

    answer_id: str
    test_id: str
    points: float
    solution: str  # the answer cell's source without the solution markers
    hidden_code: str  # what the student version replaces: the code between the markers


def exercises(chapter: str) -> list[Exercise]:
    """The chapter's exercises, in notebook order, read from the source notebook."""
    cells = nbformat.read(source_notebook(chapter), as_version=4).cells
    found, answer = [], None
    for cell in cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            answer = cell
        elif meta.get("grade") and cell.cell_type == "code":
            assert answer is not None, f"{chapter}: test cell {meta['grade_id']} has no answer cell before it"
            found.append(Exercise(nbgrader_meta(answer)["grade_id"], meta["grade_id"], float(meta["points"]),
                                  SOLUTION_MARKERS.sub("", answer.source),
                                  "\n".join(SOLUTION_REGION.findall(answer.source))))
            answer = None
    return found


def total_points(chapter: str) -> float:
    return sum(exercise.points for exercise in exercises(chapter))


def cell_by_id(nb, grade_id: str):
    (cell,) = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id]
    return cell


def submission(chapter: str, solved: set[str] | str = "all") -> nbformat.NotebookNode:
    """The student version with the answer cells in ``solved`` (grade ids, or "all") filled in."""
    nb = nbformat.read(student_notebook(chapter), as_version=4)
    for exercise in exercises(chapter):
        if solved == "all" or exercise.answer_id in solved:
            cell_by_id(nb, exercise.answer_id).source = exercise.solution
    return nb
