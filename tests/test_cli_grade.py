"""``aeworkbook grade`` on a fabricated class (tests/classroom.py): full, blank and partial answers, tricks,
kernels that hang or crash, and broken files. Real nbgrader, real gradebook, real notebooks."""

import contextlib
import csv
import hashlib
import io
import re
from html import unescape

import nbformat
import pytest
from nbgrader.api import Gradebook

from aeworkbook.course.catalogue import nbgrader_meta
from aeworkbook.course.feedback import HIDDEN
from classroom import CH01, CH04, CH05, CLASS, Handin, answer, expected_scores, grading_cell, write_class
from workbook import cell_by_id, chapter_ids, max_points, source_notebook, written_answers


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
    # ada's chapter 1 was handed in late, as nbgrader collect records it; lateness shown, no penalty
    (submissions / "ada" / CH01 / "timestamp.txt").write_text(LATE_ADA)
    deadlines = tmp_path_factory.mktemp("term") / "deadlines.toml"
    deadlines.write_text(f'timezone = "Europe/Paris"\n[deadlines]\n{CH01} = 2026-10-05T23:59:00\n')
    before = tree_digest(submissions)
    course = tmp_path_factory.mktemp("course")
    status, out = grade(submissions, "--course", course, "--jobs", 2, "--deadlines", deadlines)
    return status, out, course, submissions, before


LATE_ADA = "2026-10-07 10:00:00 Europe/Paris"  # 1 day, 10 hours and a minute after the deadline


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
    assert "graded 18 notebooks (9 of 10 students)" in out
    assert "0 could not be graded" in out and "7 problems in the submissions" in out
    for line in [f"note fay, {CH05}: the kernel died in cell",
                 f"note eve, {CH04}: cell",
                 f"({answer(CH04, 1)}) timed out",
                 "gus: ch02_deep (1).ipynb: graded as ch02_deep",
                 "gus: ch03_denoising.ipynb: not a valid notebook",
                 "gus: notes.txt: not a notebook (ignored)",
                 "hal: empty folder: nothing to grade",
                 f"is not a cell of {CH01}; graded as {answer(CH01, 2)}, the cell missing there",
                 f"a second cell with grade id {answer(CH01, 3)}"]:
        assert line in out, line


def test_student_text_reaches_the_terminal_and_report_escaped(graded):
    """A file name with terminal escapes and a newline is shown as escapes, on its own line."""
    _, out, course, _, _ = graded
    shown = r"ivy: ch01 \x1b[2J\x1b]0;owned\x07\x0a0 problems.ipynb: graded as ch01_simple_sparse"
    report = (course / "report.md").read_text()
    assert shown in out and f"- ` ivy `: ` {shown.removeprefix('ivy: ')}" in report  # as code, never markup
    for text in (out, report, *(p.read_text() for p in (course / "logs").glob("*/*.log"))):
        assert "\x1b" not in text and "\x07" not in text


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
    assert hardcoded == "ValueError: (in the hidden tests)", "the hard-coded answer fails a hidden call (shapes)"
    assert "CellTimeoutError" in errors(autograded_cell(course, "eve", CH04, answer(CH04, 1)))


def test_feedback_for_every_graded_notebook(graded):
    _, _, course, _, _ = graded
    for student, chapters in expected_scores().items():
        for chapter, cells in chapters.items():
            html = course / "feedback" / student / chapter / f"{source_notebook(chapter).stem}.html"
            assert f"Score: {sum(cells.values()):.1f} / {max_points(chapter):.1f}" in html.read_text()


def visible_text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def hidden_test_lines(chapter: str) -> set[str]:
    """Lines of the chapter's hidden tests that appear nowhere else in the notebook (so finding one in
    the feedback means it leaked)."""
    nb = nbformat.read(source_notebook(chapter), as_version=4)
    hidden = {line.strip() for cell in nb.cells for region in HIDDEN.findall(cell.source)
              for line in region.splitlines() if len(line.strip()) > 12}
    visible = "\n".join(HIDDEN.sub("", cell.source) for cell in nb.cells)
    return {line for line in hidden if line not in visible and "HIDDEN TESTS" not in line}


def test_feedback_shows_scores_and_messages_but_never_hidden_tests(graded):
    _, _, course, _, _ = graded
    for html in course.glob("feedback/*/*/*.html"):
        text = visible_text(html.read_text())
        leaked = [line for line in hidden_test_lines(html.parent.name) if line in text]
        assert leaked == [], f"{html.relative_to(course)} shows hidden tests: {leaked[:3]}"
        assert "Score:" in text
    mallory = visible_text((course / "feedback" / "mallory" / CH01 / f"{CH01}.html").read_text())
    assert "(in the hidden tests)" in mallory and re.search(r"^\w+Error: \S", mallory, re.M), "the message shows"
    assert "check_simple_autoencoder(100, 7)" not in mallory


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
        assert float(rows[student]["max_total"]) == sum(max_points(ch) for ch in chapter_ids())


def test_late_work_is_recorded_and_shown(graded):
    from datetime import datetime

    from aeworkbook.course.nbconfig import sqlite_url

    _, _, course, _, _ = graded
    with Gradebook(sqlite_url(course), "aeworkbook") as gradebook:
        assert gradebook.find_submission(CH01, "ada").timestamp == datetime(2026, 10, 7, 8, 0)  # UTC
        assert gradebook.find_assignment(CH01).duedate == datetime(2026, 10, 5, 21, 59)
        assert gradebook.find_submission(CH01, "bob").timestamp is None
    with open(course / "grades.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert rows["ada"]["late"] == f"{CH01}: 1.4 days late" and rows["ada"]["late_penalty"] == "0"
    assert rows["bob"]["late"] == ""
    report = (course / "report.md").read_text()
    assert "## Late work" in report and f"- ada, {CH01}: 1.4 days late" in report
    assert "no penalty (lateness shown only)" in report
    assert "late: 1 hand-in (scores above are before penalties" in graded[1]


def test_report_gives_per_exercise_means_problems_and_a_figure(graded):
    _, _, course, _, _ = graded
    report = (course / "report.md").read_text()
    handed_in = [chapters[CH01] for chapters in expected_scores().values() if CH01 in chapters]
    test_id = grading_cell(CH01, 1)
    mean = sum(cells[test_id] for cells in handed_in) / len(handed_in)
    full = sum(cells[test_id] > 0 for cells in handed_in) / len(handed_in)
    assert f"| ch01 ex 1 linear_ae | {len(handed_in)} | {mean:.2f} / 2 | {full:.0%} |" in report
    assert "- ` gus `: ` notes.txt: not a notebook (ignored) `" in report and "fay, ch05_vae" in report
    assert (course / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def csv_rows(course):
    with open(course / "grades.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def test_written_answers_wait_for_a_hand_grade_and_totals_say_provisional(graded):
    _, out, course, _, _ = graded
    rows = csv_rows(course)
    for student, (_, handins) in CLASS.items():
        waiting = sum(h.to_grade_by_hand() for h in handins)
        assert int(rows[student]["to_grade_by_hand"]) == waiting, student
        assert rows[student]["total_is"] == ("provisional" if waiting else "final"), student
    assert rows["ada"]["total_is"] == "provisional" and rows["bob"]["total_is"] == "final"
    count = sum(h.to_grade_by_hand() for _, handins in CLASS.values() for h in handins)
    assert f"* provisional: {count} written answers to grade by hand" in out
    assert re.search(r"^ada\s+\d+\*", out, re.M) and not re.search(r"^bob\s.*\*", out, re.M)
    report = (course / "report.md").read_text()
    first = written_answers(CH01)[0]
    handed_in = sum(CH01 in chapters for chapters in expected_scores().values())
    assert f"| {first.grade_id} | {handed_in} | 2 | 0.00 / {first.points:g} |" in report  # ada and cy wrote


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
        # A written answer graded by hand through nbgrader's API (as the formgrader does), on a hand-in
        # that is about to be replaced and graded again: the manual grade must survive it.
        cy_written = gradebook.find_grade(written_answers(CH04)[0].grade_id, source_notebook(CH04).stem, CH04, "cy")
        cy_written.manual_score, cy_written.needs_manual_grade = 1.0, False
        gradebook.db.commit()
    hand_grade_with_the_answers_command(course)
    status, out = grade(submissions, "--course", course, "--jobs", 2)
    return status, out, course


def hand_grade_with_the_answers_command(course):
    """The instructor's other path: export chapter 1's first question for the class, fill in the CSV, import it."""
    from aeworkbook.course.cli import main

    question = written_answers(CH01)[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["answers", "ch01", "1", "--course", str(course)]) == 0
    table = course / "answers" / f"{question.grade_id}.csv"
    listing = (course / "answers" / f"{question.grade_id}.md").read_text()
    assert "**Rubric" in listing and f"A student's thoughts on {question.grade_id}." in listing
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    states = {row["student_id"]: row["state"] for row in rows}
    assert states["ada"] == states["cy"] == "to grade by hand" and states["bob"] == "not answered"
    for row in rows:
        if row["student_id"] in ("ada", "cy"):
            row["points"], row["comment"] = {"ada": "2", "cy": "0.5"}[row["student_id"]], "see the rubric"
    too_many = course / "too_many.csv"
    with open(too_many, "w", newline="") as f:
        f.write(f"student_id,points\nada,{question.points + 1:g}\n")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        assert main(["answers", "ch01", question.grade_id, "--course", str(course), "--scores", str(too_many)]) == 2
    with open(table, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with contextlib.redirect_stdout(out):
        assert main(["answers", "ch01", question.grade_id, "--course", str(course), "--scores", str(table)]) == 0
    graded = sum(bool(row["points"]) for row in rows)  # ada, cy, and a 0 for each answer left blank
    assert f"entered {graded} manual grades" in out.getvalue() and "outside 0..2" in out.getvalue()


HAND_GRADES = {("ada", CH01): {written_answers(CH01)[0].grade_id: 2.0},
               ("cy", CH01): {written_answers(CH01)[0].grade_id: 0.5},
               ("cy", CH04): {written_answers(CH04)[0].grade_id: 1.0}}


def test_grading_again_regrades_only_changed_submissions(regraded):
    status, out, _ = regraded
    assert status == 0
    # cy's new chapter 4 only: fay's crashed chapter 5 was graded (what ran before the crash counts)
    assert "graded 1 notebook (1 of 10 students)" in out and "17 unchanged" in out, out


def expected_after_regrading() -> dict:
    """The class's scores after cy's new chapter 4, ada's marked-down exercise and the hand grades."""
    expected = expected_scores()
    expected["cy"][CH04] = Handin(CH04).expected()
    expected["ada"][CH01][grading_cell(CH01, 1)] = 1.0
    for (student, chapter), grades in HAND_GRADES.items():
        expected[student][chapter].update(grades)
    return expected


def test_grading_again_keeps_manual_grades_and_takes_new_work(regraded):
    _, _, course = regraded
    assert gradebook_scores(course) == expected_after_regrading()


def test_hand_grades_reach_the_csv_and_report_and_survive_regrading(regraded):
    _, out, course = regraded
    rows = csv_rows(course)
    expected = expected_after_regrading()
    for student in ("ada", "cy"):
        assert float(rows[student]["total"]) == sum(sum(c.values()) for c in expected[student].values())
    # cy wrote one answer a chapter: ch01's graded by the command, ch04's by the API, then re-handed in blank
    cy_waiting = sum(h.to_grade_by_hand() for h in CLASS["cy"][1]) - 2
    assert int(rows["cy"]["to_grade_by_hand"]) == cy_waiting
    assert rows["cy"]["total_is"] == ("provisional" if cy_waiting else "final")
    assert rows["bob"]["total_is"] == "final"
    first = written_answers(CH01)[0]
    handed_in = sum(CH01 in chapters for chapters in expected_scores().values())
    mean = (2.0 + 0.5) / handed_in  # ada's and cy's hand grades; the others did not answer
    assert f"| {first.grade_id} | {handed_in} | 0 | {mean:.2f} / {first.points:g} |" in (course / "report.md").read_text()


def test_a_question_added_after_grading_stops_grade_with_what_to_do(workbook_copy, tmp_path):
    """nbgrader refuses to add cells to a chapter with graded submissions: grade says so and what to do,
    before changing anything (no kernel runs: the submission is entered through nbgrader's API)."""
    from aeworkbook.course.catalogue import WorkbookError, Workbook, chapters
    from aeworkbook.course.grading import Course, prepare_gradebook
    from aeworkbook.course.nbconfig import sqlite_url

    workbook, course_dir = Workbook(workbook_copy), tmp_path / "course"
    course = Course(str(workbook.root), str(course_dir), sqlite_url(course_dir))
    prepare_gradebook(course, chapters(workbook.solutions), ["ada"])
    with Gradebook(course.db_url, "aeworkbook") as gradebook:
        gradebook.add_submission(CH01, "ada")
    source = workbook.solutions / CH01 / f"{CH01}.ipynb"
    nb = nbformat.read(source, as_version=4)
    question = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id", "").endswith("_question"))
    added = nbformat.from_dict({**question, "id": "added-question"})
    added.metadata.nbgrader["grade_id"] = f"{CH01}_discuss_added_question"
    nb.cells.insert(nb.cells.index(question), added)
    nbformat.write(nb, source)
    before = tree_digest(course_dir)
    with pytest.raises(WorkbookError, match=rf"(?s){CH01} has graded submissions \(1\) and its source adds "
                                            rf"{CH01}_discuss_added_question\.\n.*--course NEW"):
        prepare_gradebook(course, chapters(workbook.solutions), ["ada"])
    assert tree_digest(course_dir) == before, "nothing changed"
