"""The instructor's term after grading: grades into Canvas and Moodle, late work, feedback back to students.
Cheap: the class is written straight into an nbgrader gradebook (tests/term.py), no kernel runs."""

import contextlib
import csv
import io
import shutil
from datetime import datetime

import pytest
from nbgrader.api import Gradebook

from aeworkbook.course import late
from aeworkbook.course.catalogue import WorkbookError
from aeworkbook.course.lms import CANVAS_IDENTITY, CANVAS_POINTS
from aeworkbook.course.nbconfig import COURSE_ID
from term import CH01, CH02, TESTS, WRITTEN, write_gradebook

MAX = TESTS + WRITTEN
POLICY = f"""\
timezone = "Europe/Paris"
per_day = 0.1
cutoff_days = 7
[deadlines]
ch01 = 2026-10-06T00:00:00
{CH02} = 2026-10-13T00:00:00+02:00
"""

# Canvas's gradebook export: an existing assignment for chapter 1, one the workbook does not know, the
# read-only totals, the Points Possible row; dee has handed in nothing.
CANVAS_ROSTER = f"""\
Student,ID,SIS User ID,SIS Login ID,Section,{CH01} (1234),Quiz 1 (99),Current Score,Final Score
{CANVAS_POINTS},,,,,12.00,5.00,(read only),(read only)
"Lovelace, Ada",101,S101,ada,Sec A,,4.00,80,80
"Babbage, Bob",102,S102,bob,Sec A,,3.00,60,60
"Cy, Cy",103,S103,cy,Sec B,,,,
"Dee, Dee",104,S104,dee,Sec B,,5.00,100,100
"""

# Moodle's grade export (Export > Plain text file), with id numbers that are the workbook's ids.
MOODLE_ROSTER = """\
First name,Last name,ID number,Institution,Department,Email address,Assignment: Chapter 1 (Real),Course total (Real),Last downloaded from this course
Ada,Lovelace,ada,,,ada@uni.example,-,-,1790000000
Bob,Babbage,bob,,,bob@uni.example,-,-,1790000000
Cy,Cy,cy,,,cy@uni.example,-,-,1790000000
Dee,Dee,dee,,,dee@uni.example,-,-,1790000000
"""


@pytest.fixture(scope="module")
def gradebook_once(tmp_path_factory):
    """Creating a gradebook takes seconds (nbgrader's migrations): once a module, copied for each test."""
    folder = tmp_path_factory.mktemp("term") / "course"
    write_gradebook(folder)
    return folder


@pytest.fixture
def course(gradebook_once, tmp_path):
    folder = tmp_path / "course"
    shutil.copytree(gradebook_once, folder)
    (tmp_path / "deadlines.toml").write_text(POLICY)
    late.install(tmp_path / "deadlines.toml", folder, [CH01, CH02])
    (tmp_path / "canvas.csv").write_text(CANVAS_ROSTER)
    (tmp_path / "moodle.csv").write_text(MOODLE_ROSTER)
    return folder


def run(*args):
    from aeworkbook.course.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([*map(str, args)])
    return status, out.getvalue(), err.getvalue()


def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


# -- late work ------------------------------------------------------------------------------------------------

def test_policy_penalties_per_day_and_after_the_cutoff():
    policy = late.Policy(per_day=0.1, cutoff_days=7)
    assert policy.penalty(10, 0) == 0 and policy.penalty(10, 1) == pytest.approx(1)  # a second late: one day
    assert policy.penalty(10, 1.5 * late.DAY) == pytest.approx(2)
    assert policy.penalty(10, 7 * late.DAY) == pytest.approx(7) and policy.penalty(10, 7 * late.DAY + 1) == 10
    assert late.Policy().penalty(10, 30 * late.DAY) == 0  # no policy: lateness shown only
    assert late.Policy(cutoff_days=0).penalty(10, 1) == 10  # zero for any late work
    assert late.Policy(per_day=0.5).penalty(10, 5 * late.DAY) == 10  # never more than the score


def test_submission_times_as_lms_write_them():
    paris = late.zone("Europe/Paris")
    assert late.parse_time("2026-10-05-23-59-00", paris) == datetime(2026, 10, 5, 21, 59)  # Blackboard's form
    assert late.parse_time("2026-10-05T23:59:00Z", paris) == datetime(2026, 10, 5, 23, 59)
    assert late.parse_time("2026-10-05 23:59:00.5 Europe/London", paris) == datetime(2026, 10, 5, 22, 59, 0, 500000)
    with pytest.raises(WorkbookError, match="cannot read the submission time"):
        late.parse_time("last tuesday", paris)


@pytest.mark.parametrize("text, message", [
    ("per_day = 2", "per_day must be a fraction"),
    ("[deadlines]\nch99 = 2026-10-05T23:59:00", "no single chapter 'ch99'"),
    ("[deadlines]\nch01 = 2026-10-05", "must be a date and time"),
    ("penalty = 0.1", "unknown setting"),
    ('timezone = "Mars/Olympus"', "unknown time zone"),
    ("per_day = ", "cannot read the deadlines file"),
])
def test_a_malformed_policy_is_refused_clearly(tmp_path, text, message):
    (tmp_path / "deadlines.toml").write_text(text)
    with pytest.raises(WorkbookError, match=message):
        late.read_policy(tmp_path / "deadlines.toml", [CH01, CH02])


def test_nbgrader_late_plugin_applies_the_course_policy(course):
    plugin = late.LatePenalty(policy_file=str(course / late.POLICY_FILE))
    assert plugin.late_submission_penalty("bob", 6.0, 1.5 * late.DAY) == pytest.approx(1.2)
    assert late.LatePenalty(policy_file=str(course / "none.toml")).late_submission_penalty("bob", 6.0, 1e6) is None


def test_penalties_reach_the_gradebook_and_the_csv(course):
    status, out, err = run("grades", "--course", course)
    assert status == 0, err
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gradebook:
        assert gradebook.find_assignment(CH01).duedate == datetime(2026, 10, 5, 22, 0)  # Paris, in UTC
        assert gradebook.find_submission(CH01, "bob").late_submission_penalty == pytest.approx(1.2)
        assert gradebook.find_submission(CH01, "zed").late_submission_penalty == pytest.approx(11)  # past cut-off
        assert gradebook.find_submission(CH02, "ada").late_submission_penalty == 0  # an hour early
    table = {row["student_id"]: row for row in csv.DictReader(open(course / "grades.csv"))}
    assert table["bob"][CH01] == "4.8" and table["bob"]["late_penalty"] == "1.2"
    assert table["bob"]["late"] == f"{CH01}: 1.5 days late, -1.2 points"
    assert table["zed"][CH01] == "0" and table["ada"]["late"] == "" and table["ada"]["total"] == "21.5"


# -- grades into the LMS --------------------------------------------------------------------------------------

def test_canvas_import_file_has_canvas_columns_and_points_possible(course, tmp_path):
    status, out, err = run("grades", "--course", course, "--canvas", tmp_path / "canvas.csv", "--allow-provisional")
    assert status == 0, err
    written = rows(course / "lms" / "canvas_grades.csv")
    # Canvas's identity columns, chapter 1 under the roster's assignment name (so Canvas updates it), chapter 2
    # new; no read-only totals, no column Canvas does not know from the workbook.
    assert written[0] == CANVAS_IDENTITY + [f"{CH01} (1234)", CH02]
    assert written[1] == [CANVAS_POINTS, "", "", "", "", f"{MAX:g}", f"{MAX:g}"]
    by_login = {row[3]: row for row in written[2:]}
    assert by_login["ada"] == ["Lovelace, Ada", "101", "S101", "ada", "Sec A", "12", "9.5"]
    assert by_login["bob"][5:] == ["4.8", ""]  # late penalty taken; chapter 2 not handed in
    assert by_login["cy"][5:] == ["4", ""] and by_login["dee"][5:] == ["", ""]
    assert "graded but" not in out and "NOT in the roster" in out and "zed" in out and "PROVISIONAL" in out
    assert rows(course / "lms" / "canvas_grades.not_in_roster.csv")[1:] == [["hal", "", ""], ["zed", "0", ""]]


def test_missing_work_as_zero_when_asked(course, tmp_path):
    run("grades", "--course", course, "--canvas", tmp_path / "canvas.csv", "--allow-provisional", "--missing", "zero")
    by_login = {row[3]: row for row in rows(course / "lms" / "canvas_grades.csv")[2:]}
    assert by_login["dee"][5:] == ["0", "0"] and by_login["bob"][5:] == ["4.8", "0"]


def test_provisional_grades_are_refused_unless_allowed(course, tmp_path):
    status, out, err = run("grades", "--course", course, "--canvas", tmp_path / "canvas.csv")
    assert status == 1 and "nothing exported" in err and f"cy, {CH01}: 1 written answer to grade by hand" in err
    assert not (course / "lms" / "canvas_grades.csv").exists()


def test_moodle_import_file_has_an_identifier_and_a_column_per_grade_item(course, tmp_path):
    status, out, err = run("grades", "--course", course, "--moodle", tmp_path / "moodle.csv", "--allow-provisional")
    assert status == 0, err
    written = rows(course / "lms" / "moodle_grades.csv")
    assert written[0] == ["ID number", "Email address", CH01, CH02, f"{CH01} feedback", f"{CH02} feedback"]
    by_id = {row[0]: row for row in written[1:]}
    assert by_id["ada"] == ["ada", "ada@uni.example", "12", "9.5", "", ""]
    assert by_id["bob"][2:5] == ["4.8", "", "1.5 days late, -1.2 points"]
    assert "provisional: 1 written answer not yet graded by hand" in by_id["cy"][4]
    assert by_id["dee"][2:] == ["", "", "", ""]


def test_roster_column_chosen_by_hand_or_refused_clearly(course, tmp_path):
    status, _, err = run("grades", "--course", course, "--moodle", tmp_path / "moodle.csv", "--allow-provisional",
                         "--match", "Email address")
    assert status == 2 and "column 'Email address' holds none of the workbook's student ids" in err
    (tmp_path / "other.csv").write_text("Name,Email address\nX,x@uni.example\n")
    status, _, err = run("grades", "--course", course, "--moodle", tmp_path / "other.csv", "--allow-provisional")
    assert status == 2 and "no column holds the workbook's student ids" in err
    status, _, err = run("grades", "--course", course, "--canvas", tmp_path / "moodle.csv", "--allow-provisional")
    assert status == 2 and "not a Canvas gradebook export" in err


# -- feedback back to students --------------------------------------------------------------------------------

# Moodle's grading worksheet, with the site's identity field "ID number" holding the workbook's ids.
WORKSHEET = """\
Identifier,Full name,ID number,Email address,Status,Grade,Maximum grade,Grade can be changed,Last modified (submission),Last modified (grade),Feedback comments
Participant 5001,Ada Lovelace,ada,ada@uni.example,Submitted for grading,,12.00,Yes,"Monday, 5 October 2026, 2:00 PM",-,
Participant 5002,Bob_Babbage/../x,bob,bob@uni.example,Submitted for grading,,12.00,Yes,"Wednesday, 7 October 2026, 11:00 AM",-,
Participant 5004,Dee Dee,dee,dee@uni.example,No submission,,12.00,Yes,-,-,
"""


def fake_feedback(course, student, chapter):
    """What grade leaves for a student: an HTML page naming them, and an image beside it."""
    folder = course / "feedback" / student / chapter
    (folder / "images").mkdir(parents=True)
    (folder / f"{chapter}.html").write_text(f"<html>feedback for {student} in {chapter}</html>")
    (folder / "images" / "plot.png").write_bytes(f"png of {student}".encode())
    (folder / "timestamp.txt").write_text("2026-10-05T12:00:00+00:00")  # nbgrader copies it along: not packed


def zip_contents(path):
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_feedback_packed_per_student_and_for_moodle(course, tmp_path):
    for student in ("ada", "bob", "cy"):
        fake_feedback(course, student, CH01)
    fake_feedback(course, "ada", CH02)
    (tmp_path / "worksheet.csv").write_text(WORKSHEET)
    status, out, err = run("feedback", "ch01", "--course", course, "--moodle", tmp_path / "worksheet.csv")
    assert status == 0, err
    for student in ("ada", "bob", "cy"):
        contents = zip_contents(course / "returns" / CH01 / f"{student}.zip")
        assert contents == {f"{CH01}/{CH01}.html": f"<html>feedback for {student} in {CH01}</html>",
                            f"{CH01}/images/plot.png": f"png of {student}"}  # nothing of another student
    moodle = zip_contents(course / "returns" / CH01 / "moodle_feedback.zip")
    assert moodle == {
        f"Ada Lovelace_5001_assignsubmission_file_/{CH01}.html": f"<html>feedback for ada in {CH01}</html>",
        "Ada Lovelace_5001_assignsubmission_file_/images/plot.png": "png of ada",
        # Moodle splits at "_": a name's own underscores (and path characters) must not reach the zip
        f"Bob Babbage .. x_5002_assignsubmission_file_/{CH01}.html": f"<html>feedback for bob in {CH01}</html>",
        "Bob Babbage .. x_5002_assignsubmission_file_/images/plot.png": "png of bob"}
    for name in moodle:  # as Moodle reads a folder name: full name, participant id, plugin type and name
        full_name, participant, plugin_type, plugin = name.split("/")[0].split("_", 4)[:4]
        assert participant.isdigit() and (plugin_type, plugin) == ("assignsubmission", "file")
    assert "not in the worksheet (no Moodle feedback; their zips are above): cy" in out
