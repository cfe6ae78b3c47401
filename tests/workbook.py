"""What the tests know about the workbook: its chapters, their exercises, and fabricated submissions."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
CHAPTERS = ROOT / "chapters"
AUTOGRADER = ROOT / "autograder"

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


def nbgrader(*args: str, course_dir: Path, cwd: Path = AUTOGRADER, timeout: float = 3600) -> subprocess.CompletedProcess:
    """Run an nbgrader command as an instructor would: from autograder/, with a course directory."""
    env = dict(os.environ, AEWORKBOOK_COURSE_DIR=str(course_dir))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("AEWORKBOOK_PROFILE", None)  # the grader must pick the fast profile on its own
    result = subprocess.run(["nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def honest_class(chapters: list[str]) -> dict:
    """{student: {chapter: notebook}}: a full solution, a blank, and one student per exercise number."""
    students = {"solution": {ch: submission(ch, "all") for ch in chapters},
                "blank": {ch: submission(ch, set()) for ch in chapters}}
    for k in range(max(len(exercises(ch)) for ch in chapters)):
        students[f"only_exercise_{k + 1}"] = {
            ch: submission(ch, {exercises(ch)[k].answer_id}) for ch in chapters if k < len(exercises(ch))}
    return students


def honest_expected(chapters: list[str]) -> dict:
    """{student: {chapter: {test grade id: points}}} for honest_class(chapters)."""
    def scores(chapter, solved):
        return {e.test_id: (e.points if e.answer_id in solved else 0.0) for e in exercises(chapter)}

    expected = {"solution": {ch: scores(ch, {e.answer_id for e in exercises(ch)}) for ch in chapters},
                "blank": {ch: scores(ch, set()) for ch in chapters}}
    for k in range(max(len(exercises(ch)) for ch in chapters)):
        expected[f"only_exercise_{k + 1}"] = {
            ch: scores(ch, {exercises(ch)[k].answer_id}) for ch in chapters if k < len(exercises(ch))}
    return expected


def submit_and_grade(course, students: dict, chapters: list[str]) -> dict:
    """Put the class's notebooks in the course's submitted/ folder, autograde and write feedback;
    return {student: {chapter: {grade id: score}}} from the gradebook."""
    for student, notebooks in students.items():
        for chapter, notebook in notebooks.items():
            folder = course.course_dir / "submitted" / student / chapter
            folder.mkdir(parents=True)
            nbformat.write(notebook, folder / source_notebook(chapter).name)
    for chapter in chapters:
        course.nbgrader("autograde", chapter, "--create")
        course.nbgrader("generate_feedback", chapter)
    return gradebook_scores(course, chapters)


def gradebook_scores(course, chapters: list[str]) -> dict:
    """{student: {chapter: {grade id: score}}} read from the course's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    found = {}
    with Gradebook(f"sqlite:///{course.course_dir / 'gradebook.db'}", "aeworkbook") as gradebook:
        for student in gradebook.students:
            for chapter in chapters:
                try:
                    notebook = gradebook.find_submission_notebook(source_notebook(chapter).stem, chapter, student.id)
                except MissingEntry:
                    continue
                found.setdefault(student.id, {})[chapter] = {g.name: g.score for g in notebook.grades}
    return found
