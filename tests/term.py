"""A graded class written straight into an nbgrader gradebook (no kernel runs): the instructor's term
after ``aeworkbook grade``, for the tests of grades export, late work and feedback (tests/test_term.py).

Two chapters, each with one test cell and one written answer; students handed in on time, late, not at
all; one written answer graded by hand, one still waiting.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from nbgrader.api import Gradebook

from aeworkbook.course.nbconfig import COURSE_ID, sqlite_url

CH01, CH02 = "ch01_simple_sparse", "ch02_deep"
TESTS, WRITTEN = 10.0, 2.0  # points of each chapter's test cell and written answer
DUE = {CH01: datetime(2026, 10, 5, 22, 0), CH02: datetime(2026, 10, 12, 22, 0)}  # UTC, as nbgrader stores them

# student: {chapter: (test points, written answer: None waiting / points graded by hand, submitted at (UTC))}
CLASS = {
    "ada": {CH01: (10.0, 2.0, datetime(2026, 10, 5, 12, 0)), CH02: (8.0, 1.5, datetime(2026, 10, 12, 21, 0))},
    "bob": {CH01: (6.0, 0.0, datetime(2026, 10, 7, 9, 0))},  # 1 day 11 h late: 2 days' penalty
    "cy": {CH01: (4.0, None, datetime(2026, 10, 5, 8, 0))},  # a written answer still to grade by hand
    "zed": {CH01: (9.0, 2.0, datetime(2026, 10, 30, 9, 0))},  # not in the LMS's roster; 25 days late
    "hal": {},  # an empty folder: in the gradebook, nothing handed in
}


def notebook(chapter: str) -> str:
    return chapter


def write_gradebook(course: Path, students: dict = CLASS) -> str:
    """The gradebook of ``students`` in ``course``; returns its URL."""
    course.mkdir(parents=True, exist_ok=True)
    url = sqlite_url(course)
    with Gradebook(url, COURSE_ID) as gradebook:
        for chapter in (CH01, CH02):
            gradebook.add_assignment(chapter)
            gradebook.add_notebook(notebook(chapter), chapter)
            gradebook.add_grade_cell(f"{chapter}_tests", notebook(chapter), chapter, max_score=TESTS, cell_type="code")
            gradebook.add_grade_cell(f"{chapter}_written", notebook(chapter), chapter, max_score=WRITTEN,
                                     cell_type="markdown")
        for student, chapters in students.items():
            gradebook.add_student(student)
            for chapter, (tests, written, when) in chapters.items():
                gradebook.add_submission(chapter, student, timestamp=when)
                gradebook.find_grade(f"{chapter}_tests", notebook(chapter), chapter, student).auto_score = tests
                answer = gradebook.find_grade(f"{chapter}_written", notebook(chapter), chapter, student)
                answer.auto_score, answer.needs_manual_grade = None, written is None  # answered: waits for a hand
                answer.manual_score = written
        gradebook.db.commit()
    return url
