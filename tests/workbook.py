"""What the tests know about the workbook: its chapters, their exercises, and fabricated submissions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from aeworkbook.course import catalogue
from aeworkbook.course.catalogue import nbgrader_meta, read_exercises, read_written_answers, solution_text

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
CHAPTERS = ROOT / "chapters"

SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


def chapter_ids() -> list[str]:
    """Every chapter with a source notebook, in order."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and list(p.glob("*.ipynb")))


def source_notebook(chapter: str) -> Path:
    (path,) = sorted((SOLUTIONS / chapter).glob("*.ipynb"))
    return path


def student_notebook(chapter: str) -> Path:
    return CHAPTERS / chapter / source_notebook(chapter).name


@dataclass(frozen=True)
class Exercise(catalogue.Exercise):
    """An exercise with the solution the tests paste in."""

    solution: str  # the answer cell's source without the solution markers
    hidden_code: str  # what the student version replaces: the code between the markers


def exercises(chapter: str) -> list[Exercise]:
    """The chapter's exercises, in notebook order, read from the source notebook."""
    nb = nbformat.read(source_notebook(chapter), as_version=4)
    answers = {nbgrader_meta(cell).get("grade_id"): cell.source for cell in nb.cells}
    return [Exercise(e.number, e.answer_id, e.test_id, e.points, solution_text(answers[e.answer_id]),
                     "\n".join(SOLUTION_REGION.findall(answers[e.answer_id]))) for e in read_exercises(nb)]


def total_points(chapter: str) -> float:
    """The auto-graded points."""
    return sum(exercise.points for exercise in exercises(chapter))


def written_answers(chapter: str) -> tuple[catalogue.WrittenAnswer, ...]:
    """The chapter's discussion questions (graded by hand), read from the source notebook."""
    return read_written_answers(nbformat.read(source_notebook(chapter), as_version=4))


def max_points(chapter: str) -> float:
    """Everything the chapter can earn, written answers included (nbgrader's max score)."""
    return total_points(chapter) + sum(answer.points for answer in written_answers(chapter))


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
