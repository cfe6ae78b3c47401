"""Grading every chapter after the first: the solution earns full marks, the blank version 0,
and a student who solved only exercise k earns exactly exercise k's points.

(test_grading.py covers chapter 1 in depth: tricks, feedback, grades CSV, regrading.)
"""

import pytest

from workbook import chapter_ids, honest_class, honest_expected, source_notebook, submit_and_grade, total_points

LATER_CHAPTERS = chapter_ids()[1:]
pytestmark = pytest.mark.skipif(not LATER_CHAPTERS, reason="the workbook has one chapter")


@pytest.fixture(scope="module")
def graded(course):
    return submit_and_grade(course, honest_class(LATER_CHAPTERS), LATER_CHAPTERS)


@pytest.mark.parametrize("chapter", LATER_CHAPTERS)
def test_exact_scores_per_exercise(graded, chapter):
    expected = honest_expected(LATER_CHAPTERS)
    found = {student: chapters[chapter] for student, chapters in graded.items() if chapter in chapters}
    assert found == {student: chapters[chapter] for student, chapters in expected.items() if chapter in chapters}


@pytest.mark.parametrize("chapter", LATER_CHAPTERS)
def test_feedback_for_every_submission(graded, chapter, course):
    for student, chapters in graded.items():
        if chapter in chapters:
            html = course.course_dir / "feedback" / student / chapter / f"{source_notebook(chapter).stem}.html"
            assert f"Score: {sum(chapters[chapter].values()):.1f} / {total_points(chapter):.1f}" in html.read_text()
