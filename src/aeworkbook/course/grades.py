"""The class's grades as the gradebook holds them, and nbgrader's export plugin for the workbook's CSV.

nbgrader's own CSV has a row per student *and* assignment; an instructor's
spreadsheet wants the class list. Chosen in ``autograder/nbgrader_config.py``.
A chapter's grade is its score less its late penalty (``late.py``), as nbgrader's
feedback shows it; the LMS exports (``lms.py``) read the same :func:`class_grades`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

from .handgrading import waiting
from .late import lateness


@dataclass(frozen=True)
class ChapterGrade:
    score: float  # before the late penalty
    penalty: float  # points taken off for lateness
    seconds_late: float
    to_grade_by_hand: int  # written answers still waiting for a hand grade (they count 0 meanwhile)

    @property
    def grade(self) -> float:
        return self.score - self.penalty

    @property
    def late(self) -> str:
        """'1.5 days late, -3 points', or ''."""
        if self.seconds_late <= 0:
            return ""
        return lateness(self.seconds_late) + (f", -{self.penalty:g} points" if self.penalty else "")


def class_grades(gradebook: Gradebook, chapters: list[str], students: list[str]) -> dict[str, dict[str, ChapterGrade]]:
    """{student: {chapter: its grade}} for every chapter handed in (a chapter not handed in is absent)."""
    found = {}
    for student in students:
        found[student] = {}
        for chapter in chapters:
            try:
                submission = gradebook.find_submission(chapter, student)
            except MissingEntry:
                continue
            found[student][chapter] = ChapterGrade(submission.score, submission.late_submission_penalty or 0.0,
                                                   submission.total_seconds_late, len(waiting(submission)))
    return found


class ChapterGradesExport(ExportPlugin):
    """Write ``student_id, <chapter>..., total, max_total, to_grade_by_hand, total_is, late_penalty, late, flags`` to
    ``--to`` (default ``grades.csv``). A chapter's cell is its grade after any late penalty, empty when not
    handed in. ``to_grade_by_hand`` counts written answers that wait for a manual grade; while any does,
    ``total_is`` says ``provisional`` (they count 0 until graded), else ``final``. ``late_penalty`` is the
    points taken off for lateness, ``late`` says which chapters were late and by how much. ``flags`` names
    the chapters the grader flagged for review (code that reaches into the grading machinery: see
    ``report.md``)."""

    def export(self, gradebook: Gradebook) -> None:
        chapters = sorted(a.name for a in gradebook.assignments if not self.assignment or a.name in self.assignment)
        max_total = sum(gradebook.find_assignment(chapter).max_score for chapter in chapters)
        students = sorted(s.id for s in gradebook.students if not self.student or s.id in self.student)
        path = self.to or "grades.csv"
        self.log.info("Exporting %d students x %d chapters to %s", len(students), len(chapters), path)
        with open(path, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["student_id", *chapters, "total", "max_total", "to_grade_by_hand", "total_is",
                             "late_penalty", "late", "flags"])
            for student, grades in class_grades(gradebook, chapters, students).items():
                scores = [f"{grades[c].grade:g}" if c in grades else "" for c in chapters]  # empty: counts 0
                to_grade = sum(g.to_grade_by_hand for g in grades.values())
                flagged = [c for c in grades if any(n.flagged for n in gradebook.find_submission(c, student).notebooks)]
                writer.writerow([student, *scores, f"{sum(g.grade for g in grades.values()):g}", f"{max_total:g}",
                                 to_grade, "provisional" if to_grade else "final",
                                 f"{sum(g.penalty for g in grades.values()):g}",
                                 "; ".join(f"{c}: {g.late}" for c, g in grades.items() if g.late), " ".join(flagged)])
