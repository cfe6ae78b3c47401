"""``aeworkbook grade`` on a fabricated class (tests/classroom.py): full, blank and partial answers, tricks,
kernels that hang or crash, and broken files. Real nbgrader, real gradebook, real notebooks."""

import contextlib
import csv
import hashlib
import io
import re

import nbformat
import pytest
from nbgrader.api import Gradebook

from aeworkbook.course.catalogue import nbgrader_meta
from classroom import CH01, CH04, CH05, Handin, answer, expected_scores, grading_cell, write_class
from workbook import cell_by_id, chapter_ids, source_notebook, total_points


def tree_digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def grade(*args):
    """Run ``aeworkbook grade`` in this process: (exit status, what it printed)."""
    from aeworkbook.course.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["grade", *map(str, args), "--no-progress"])
    return status, out.getvalue()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded with 2 jobs: (status, stdout, course dir, submissions folder, their digest before)."""
    submissions = write_class(tmp_path_factory.mktemp("class") / "submissions")
    before = tree_digest(submissions)
    course = tmp_path_factory.mktemp("course")
    status, out = grade(submissions, "--course", course, "--jobs", 2)
    return status, out, course, submissions, before


def gradebook_scores(course):
    from aeworkbook.course.catalogue import Workbook, chapters
    from aeworkbook.course.grading import Course, gradebook_scores as read
    from aeworkbook.course.nbconfig import sqlite_url

    workbook = Workbook.find()
    return read(Course(str(workbook.root), str(course), sqlite_url(course)), chapters(workbook.solutions))


def test_every_hand_in_earns_exactly_its_points(graded):
    status, out, course, _, _ = graded
    assert status == 0, out
    assert gradebook_scores(course) == expected_scores()


def test_submitted_files_are_never_modified(graded):
    _, _, _, submissions, before = graded
    assert tree_digest(submissions) == before


def test_summary_says_what_happened_to_every_problem(graded):
    _, out, _, _, _ = graded
    assert "graded 28 notebooks (8 of 9 students)" in out
    assert "1 could not be graded" in out and "4 problems in the submissions" in out
    for line in ["could not grade fay, ch05_vae: could not be graded: the kernel died",
                 f"note eve, {CH04}: cell",
                 f"({answer(CH04, 1)}) timed out",
                 "gus: ch02_deep (1).ipynb: graded as ch02_deep",
                 "gus: ch03_denoising.ipynb: not a valid notebook",
                 "gus: notes.txt: not a notebook (ignored)",
                 "hal: empty folder: nothing to grade"]:
        assert line in out, line


def test_score_table_shows_each_student_and_total(graded):
    _, out, _, _, _ = graded
    for student, chapters in expected_scores().items():
        total = sum(sum(cells.values()) for cells in chapters.values())
        assert re.search(rf"^{student}\s.*\s{total:g}$", out, re.M), student


def autograded_cell(course, student, chapter, grade_id):
    path = course / "autograded" / student / chapter / source_notebook(chapter).name
    return cell_by_id(nbformat.read(path, as_version=4), grade_id)


def errors(cell):
    text = "\n".join("\n".join(o.traceback) for o in cell.outputs if o.output_type == "error")
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_tricks_are_seen_through(graded):
    _, _, course, _, _ = graded
    restored = autograded_cell(course, "mallory", CH01, grading_cell(CH01, 1))
    assert "check_finds_pca_plane" in restored.source, "a test rewritten to `pass` is restored"
    added_back = autograded_cell(course, "mallory", CH01, grading_cell(CH01, 3))
    assert nbgrader_meta(added_back)["points"] > 0 and not errors(added_back), "a deleted test is added back"
    hardcoded = errors(autograded_cell(course, "mallory", CH01, grading_cell(CH01, 2)))
    assert "check_simple_autoencoder(100, 7)" in hardcoded, "the hard-coded answer fails the first hidden call"
    assert "CellTimeoutError" in errors(autograded_cell(course, "eve", CH04, answer(CH04, 1)))


def test_feedback_for_every_graded_notebook(graded):
    _, _, course, _, _ = graded
    for student, chapters in expected_scores().items():
        for chapter, cells in chapters.items():
            html = course / "feedback" / student / chapter / f"{source_notebook(chapter).stem}.html"
            if (student, chapter) == ("fay", CH05):
                assert not html.exists(), "a notebook that killed its kernel has no feedback"
                continue
            assert f"Score: {sum(cells.values()):.1f} / {total_points(chapter):.1f}" in html.read_text()


def test_grades_csv_has_a_row_per_student_and_a_column_per_chapter(graded):
    _, _, course, _, _ = graded
    with open(course / "grades.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    expected = expected_scores()
    assert sorted(rows) == sorted(expected)
    for student, chapters in expected.items():
        for chapter in chapter_ids():
            cell = rows[student][chapter]
            assert (float(cell) if cell else None) == (sum(chapters[chapter].values()) if chapter in chapters else None)
        assert float(rows[student]["total"]) == sum(sum(c.values()) for c in chapters.values())
        assert float(rows[student]["max_total"]) == sum(total_points(ch) for ch in chapter_ids())


def test_report_gives_per_exercise_means_problems_and_a_figure(graded):
    _, _, course, _, _ = graded
    report = (course / "report.md").read_text()
    handed_in = [chapters[CH01] for chapters in expected_scores().values() if CH01 in chapters]
    test_id = grading_cell(CH01, 1)
    mean = sum(cells[test_id] for cells in handed_in) / len(handed_in)
    full = sum(cells[test_id] > 0 for cells in handed_in) / len(handed_in)
    assert f"| ch01 ex 1 linear_ae | {len(handed_in)} | {mean:.2f} / 2 | {full:.0%} |" in report
    assert "gus: notes.txt: not a notebook (ignored)" in report and "fay, ch05_vae" in report
    assert (course / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- grading again: only what changed, and manual grades stay ----------------------------------------------------

@pytest.fixture(scope="module")
def regraded(graded):
    """cy hands in a fully solved chapter 4; the instructor had marked down ada's first chapter-1 exercise."""
    from aeworkbook.course.nbconfig import sqlite_url

    _, _, course, submissions, _ = graded
    (submissions / "cy" / CH04 / source_notebook(CH04).name).unlink()
    Handin(CH04).write(submissions / "cy", flat=False)
    with Gradebook(sqlite_url(course), "aeworkbook") as gradebook:
        marked_down = gradebook.find_grade(grading_cell(CH01, 1), source_notebook(CH01).stem, CH01, "ada")
        marked_down.manual_score = 1.0
        gradebook.db.commit()
    status, out = grade(submissions, "--course", course, "--jobs", 2)
    return status, out, course


def test_grading_again_regrades_only_changed_submissions(regraded):
    status, out, _ = regraded
    assert status == 0
    # cy's new chapter 4, and fay's chapter 5 that could not be graded before (it fails again)
    assert "graded 1 notebook (2 of 9 students)" in out and "27 unchanged" in out, out


def test_grading_again_keeps_manual_grades_and_takes_new_work(regraded):
    _, _, course = regraded
    scores = gradebook_scores(course)
    expected = expected_scores()
    expected["cy"][CH04] = Handin(CH04).expected()
    expected["ada"][CH01][grading_cell(CH01, 1)] = 1.0
    assert scores == expected
