"""nbgrader export plugin: one row per student, one column per chapter, and the total.

nbgrader's own CSV has a row per student *and* assignment; an instructor's
spreadsheet wants the class list. Chosen in ``autograder/nbgrader_config.py``.
"""

from __future__ import annotations

import csv

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

from .handgrading import waiting


class ChapterGradesExport(ExportPlugin):
    """Write ``student_id, <chapter>..., total, max_total, to_grade_by_hand, total_is, flags`` to ``--to``
    (default ``grades.csv``). ``to_grade_by_hand`` counts written answers that wait for a manual grade; while
    any does, ``total_is`` says ``provisional`` (they count 0 until graded), else ``final``. ``flags`` names
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
            writer.writerow(["student_id", *chapters, "total", "max_total", "to_grade_by_hand", "total_is", "flags"])
            for student in students:
                scores, to_grade, flagged = [], 0, []
                for chapter in chapters:
                    try:
                        submission = gradebook.find_submission(chapter, student)
                    except MissingEntry:  # not submitted: an empty cell, counted as 0 in the total
                        scores.append("")
                        continue
                    scores.append(submission.score)
                    to_grade += len(waiting(submission))
                    flagged += [chapter] if any(notebook.flagged for notebook in submission.notebooks) else []
                total = sum(score for score in scores if score != "")
                writer.writerow([student, *scores, total, max_total, to_grade, "provisional" if to_grade else "final",
                                 " ".join(flagged)])
