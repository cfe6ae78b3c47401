"""The instructor's hand grading of written answers, outside the formgrader.

``export``: one question's answers for the whole class, side by side with the
question, the model answer and the rubric (a Markdown file to read; each answer as
a code block, so that a student's Markdown shows as written, never rendered) and a
CSV to fill in (points, comment). ``import_scores``: that CSV back into nbgrader's
gradebook as manual grades (``Grade.manual_score``, ``Comment.manual_comment``),
exactly what the formgrader writes, so both paths can be mixed and autograde
never overwrites either.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .catalogue import Chapter, WorkbookError, WrittenAnswer, nbgrader_meta
from .handgrading import GRADED, NOT_ANSWERED, TO_GRADE, hand_state
from .nbconfig import COURSE_ID
from .untrusted import code_block

COLUMNS = ["student_id", "state", "points", "max_points", "comment"]


@dataclass
class StudentAnswer:
    student: str
    text: str
    state: str  # NOT_ANSWERED, TO_GRADE or GRADED
    points: float | None  # the manual grade, when there is one
    comment: str


def find_question(chapter: Chapter, which: str) -> WrittenAnswer:
    """A chapter's written answer by number (1, 2...) or grade id."""
    for answer in chapter.written:
        if which in (str(answer.number), answer.grade_id):
            return answer
    known = ", ".join(f"{a.number} ({a.grade_id})" for a in chapter.written) or "none"
    raise WorkbookError(f"{chapter.id} has no written answer {which!r} (it has: {known})")


def class_answers(course, chapter: Chapter, question: WrittenAnswer) -> list[StudentAnswer]:
    """Every graded submission's answer to ``question``, with where it stands in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    found = []
    with Gradebook(course.db_url, COURSE_ID) as gradebook:
        for student in sorted(s.id for s in gradebook.students):
            try:
                grade = gradebook.find_grade(question.grade_id, Path(chapter.notebook).stem, chapter.id, student)
                comment = gradebook.find_comment(question.grade_id, Path(chapter.notebook).stem, chapter.id, student)
            except MissingEntry:  # not handed in, or not graded yet
                continue
            path = course.notebook("autograded", student, chapter)
            cells = nbformat.read(path, as_version=4).cells if path.exists() else []
            text = next((c.source for c in cells if nbgrader_meta(c).get("grade_id") == question.grade_id), "")
            found.append(StudentAnswer(student, text, hand_state(grade), grade.manual_score,
                                       comment.manual_comment or ""))
    return found


def model_answer(workbook, chapter: Chapter, question: WrittenAnswer) -> str:
    nb = nbformat.read(workbook.solutions / chapter.id / chapter.notebook, as_version=4)
    return next(c.source for c in nb.cells if nbgrader_meta(c).get("grade_id") == question.grade_id)


def listing(chapter: Chapter, question: WrittenAnswer, model: str, answers: list[StudentAnswer]) -> str:
    """The question, the model answer and rubric, then each student's answer as written (a code block)."""
    lines = [f"# {chapter.id}: {question.grade_id} ({question.points:g} points)", "", question.question, "",
             "## Model answer and rubric (instructors only)", "", model, ""]
    for a in answers:
        grade = f", graded {a.points:g} / {question.points:g}" if a.points is not None else ""
        lines += [f"## {a.student} ({a.state}{grade})", "", code_block(a.text.strip() or "(empty)"), ""]
    return "\n".join(lines)


def export(course, workbook, chapter: Chapter, question: WrittenAnswer) -> tuple[Path, Path, list[StudentAnswer]]:
    """Write ``answers/<grade id>.md`` (to read) and ``answers/<grade id>.csv`` (to fill in) in the course."""
    answers = class_answers(course, chapter, question)
    folder = Path(course.course_dir) / "answers"
    folder.mkdir(parents=True, exist_ok=True)
    markdown = folder / f"{question.grade_id}.md"
    markdown.write_text(listing(chapter, question, model_answer(workbook, chapter, question), answers))
    table = folder / f"{question.grade_id}.csv"
    with open(table, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for a in answers:
            points = "" if a.points is None else f"{a.points:g}"
            if a.state == NOT_ANSWERED and a.points is None:
                points = "0"  # nothing to read: autograde already gave it 0
            writer.writerow([a.student, a.state, points, f"{question.points:g}", a.comment])
    return markdown, table, answers


def import_scores(course, chapter: Chapter, question: WrittenAnswer, table: Path) -> list[str]:
    """Enter the filled-in CSV's points (and comments) as manual grades; rows without points are left alone.
    Checks every row first and changes nothing if one is wrong. Returns the students graded."""
    from nbgrader.api import Gradebook, MissingEntry

    with open(table, newline="") as f:
        rows = [row for row in csv.DictReader(f) if (row.get("points") or "").strip()]
    problems, scores = [], {}
    for row in rows:
        student = (row.get("student_id") or "").strip()
        try:
            points = float(row["points"])
        except ValueError:
            problems.append(f"{student}: points {row['points']!r} is not a number")
            continue
        if not 0 <= points <= question.points:
            problems.append(f"{student}: {points:g} points is outside 0..{question.points:g}")
        scores[student] = (points, (row.get("comment") or "").strip())
    notebook = Path(chapter.notebook).stem
    with Gradebook(course.db_url, COURSE_ID) as gradebook:
        grades = {}
        for student in scores:
            try:
                grades[student] = (gradebook.find_grade(question.grade_id, notebook, chapter.id, student),
                                   gradebook.find_comment(question.grade_id, notebook, chapter.id, student))
            except MissingEntry:
                problems.append(f"{student}: no graded {chapter.id} submission in the gradebook")
        if problems:
            raise WorkbookError(f"{table}: nothing imported; " + "; ".join(problems))
        for student, (grade, comment) in grades.items():
            grade.manual_score, grade.needs_manual_grade = scores[student][0], False
            if scores[student][1]:
                comment.manual_comment = scores[student][1]
        gradebook.db.commit()
    return sorted(grades)


def describe(chapter: Chapter, question: WrittenAnswer, answers: list[StudentAnswer]) -> str:
    counts = {state: sum(a.state == state for a in answers) for state in (TO_GRADE, GRADED, NOT_ANSWERED)}
    return (f"{chapter.id} {question.grade_id}: {len(answers)} submissions; "
            + ", ".join(f"{n} {state}" for state, n in counts.items()))
