"""The instructor's grading lifecycle on a fabricated chapter-1 class, with real nbgrader commands
and gradebook: exact scores, tricks that must fail, feedback, grades CSV, regrading.

The expected scores come from the exercises' points in the source notebook.
test_grading_chapters.py grades the other chapters' solutions, blanks and partial answers.
"""

import csv
import re

import nbformat
import pytest

from workbook import (cell_by_id, chapter_ids, exercises, gradebook_scores, honest_class, honest_expected,
                      nbgrader_meta, source_notebook, submission, submit_and_grade, total_points)

CH01 = "ch01_simple_sparse"
CHAPTERS = [CH01]
MAX_EXERCISES = len(exercises(CH01))

# Exercise 2 of chapter 1, answered for the visible test's sizes only: passes the visible
# asserts, fails the hidden ones (which use other sizes).
HARDCODED_BUILD = '''
def build_simple_autoencoder(input_dim, encoding_dim):
    encoder = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(32, activation="relu")])
    decoder = keras.Sequential([keras.Input(shape=(32,)), keras.layers.Dense(784, activation="sigmoid")])
    autoencoder = keras.Sequential([encoder, decoder])
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy", metrics=["mse"])
    return autoencoder, encoder, decoder
'''


def ch01_tampered_class():
    """Chapter-1 students who break the rules: the grader must not be fooled."""
    linear, build, _, _ = exercises(CH01)

    rewrote_test = submission(CH01, solved="all")
    cell_by_id(rewrote_test, linear.answer_id).source = "# YOUR CODE HERE\nraise NotImplementedError()"
    cell_by_id(rewrote_test, linear.test_id).source = "pass"

    deleted_test = submission(CH01, solved="all")
    deleted_test.cells.remove(cell_by_id(deleted_test, build.test_id))

    hardcoded = submission(CH01, solved="all")
    cell_by_id(hardcoded, build.answer_id).source = HARDCODED_BUILD

    loops_forever = submission(CH01, solved="all")
    answer = cell_by_id(loops_forever, linear.answer_id)
    answer.source = "while True:\n    pass\n\n" + answer.source

    return {"rewrote_test": rewrote_test, "deleted_test": deleted_test,
            "hardcoded": hardcoded, "loops_forever": loops_forever}


def ch01_tampered_expected():
    linear, build, _, _ = exercises(CH01)
    full = {exercise.test_id: exercise.points for exercise in exercises(CH01)}
    return {"rewrote_test": {**full, linear.test_id: 0}, "deleted_test": full,
            "hardcoded": {**full, build.test_id: 0}, "loops_forever": {**full, linear.test_id: 0}}


def fabricated_class():
    students = honest_class(CHAPTERS)
    for student, notebook in ch01_tampered_class().items():
        students[student] = {CH01: notebook}
    return students


def expected_scores():
    expected = honest_expected(CHAPTERS)
    for student, cells in ch01_tampered_expected().items():
        expected[student] = {CH01: cells}
    return expected


@pytest.fixture(scope="module")
def graded(course):
    """Grade the fabricated class, then export the grades CSV."""
    scores = submit_and_grade(course, fabricated_class(), CHAPTERS)
    course.nbgrader("export", "--to", str(course.course_dir / "grades.csv"))
    return scores


def test_every_submission_gets_exactly_the_expected_points(graded):
    expected = expected_scores()
    assert set(graded) == set(expected)
    for student, chapters in expected.items():
        for chapter, cells in chapters.items():
            assert graded[student][chapter] == cells, f"{student}, {chapter}"


def test_partial_credit_adds_up_to_the_whole(graded):
    for chapter in CHAPTERS:
        partial = sum(sum(graded[f"only_exercise_{k + 1}"][chapter].values()) for k in range(len(exercises(chapter))))
        assert partial == total_points(chapter) == sum(graded["solution"][chapter].values())


def autograded_cell(course, student, grade_id):
    path = course.course_dir / "autograded" / student / CH01 / source_notebook(CH01).name
    return cell_by_id(nbformat.read(path, as_version=4), grade_id)


def errors(cell):
    """The cell's error tracebacks as plain text."""
    text = "\n".join("\n".join(o.traceback) for o in cell.outputs if o.output_type == "error")
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_rewritten_test_cell_is_restored(graded, course):
    linear = exercises(CH01)[0]
    assert "check_finds_pca_plane" in autograded_cell(course, "rewrote_test", linear.test_id).source


def test_deleted_test_cell_is_added_back_and_graded(graded, course):
    build = exercises(CH01)[1]
    cell = autograded_cell(course, "deleted_test", build.test_id)
    assert nbgrader_meta(cell)["points"] == build.points and not errors(cell)


def test_hardcoded_answer_passes_visible_asserts_and_fails_hidden_ones(graded, course):
    build = exercises(CH01)[1]
    traceback = errors(autograded_cell(course, "hardcoded", build.test_id))
    assert "check_simple_autoencoder(100, 7)" in traceback  # the first hidden call; the visible one passed


def test_endless_answer_times_out_and_the_rest_is_graded(graded, course):
    linear = exercises(CH01)[0]
    assert "CellTimeoutError" in errors(autograded_cell(course, "loops_forever", linear.answer_id))
    assert sum(graded["loops_forever"][CH01].values()) == total_points(CH01) - linear.points


def test_feedback_html_for_every_submission(graded, course):
    for student, chapters in graded.items():
        for chapter, cells in chapters.items():
            html = (course.course_dir / "feedback" / student / chapter / f"{source_notebook(chapter).stem}.html")
            assert html.exists(), html
            text = html.read_text()
            assert f"Score: {sum(cells.values()):.1f} / {total_points(chapter):.1f}" in text


def test_grades_csv_has_one_row_per_student_with_chapter_totals(graded, course):
    with open(course.course_dir / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(row["student_id"] for row in rows) == sorted(graded)
    for row in rows:
        chapters = graded[row["student_id"]]
        for chapter in chapter_ids():  # every released chapter has a column; unsubmitted ones are empty
            expected = sum(chapters[chapter].values()) if chapter in chapters else None
            assert (float(row[chapter]) if row[chapter] else None) == expected
        assert float(row["total"]) == sum(sum(cells.values()) for cells in chapters.values())
        assert float(row["max_total"]) == sum(total_points(chapter) for chapter in chapter_ids())


def test_grading_again_gives_identical_scores(graded, course):
    course.nbgrader("autograde", CH01, "--force")
    again = gradebook_scores(course, CHAPTERS)
    assert {s: c[CH01] for s, c in again.items() if CH01 in c} == {s: c[CH01] for s, c in graded.items() if CH01 in c}
