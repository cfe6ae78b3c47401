"""The instructor's formgrader in a real browser (``pytest -m browser``; skipped without Chromium).

As the README says: grade the class with ``aeworkbook grade``, then ``aeworkbook formgrader`` starts
JupyterLab with nbgrader's formgrader from a server root that holds the course directory. The
instructor sees the chapters and the graded class, opens a submission, grades a written answer by
hand, and the grade reaches the CSV (and survives grading again). A hostile student's markup and
outputs (``payloads.py``) run no script in the formgrader or in the feedback, where an honest
student's maths and figures still show.
"""

import contextlib
import csv
import io
import time
import urllib.request

import pytest
from nbgrader.api import Gradebook

from browser import ARTIFACTS, TOKEN, chromium, evidence, jupyter_server, missing_browser, wait_for
from classroom import ALL, Handin
from payloads import listener, make_hostile
from workbook import ROOT, chapter_ids, exercises, max_points, source_notebook, written_answers

pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(missing_browser()), reason=str(missing_browser()))]

CH01 = chapter_ids()[0]


@pytest.fixture(scope="module")
def payload_listener():
    """(port, paths asked for): where a payload's script, image, stylesheet or refresh would call."""
    with listener() as found:
        yield found


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, payload_listener):
    """Chapter 1 of zoe (first exercise solved, every written answer written) and of mallory (the same, with
    every payload in her written answers, a markdown cell, a code cell's outputs and the title), graded."""
    from aeworkbook.course.cli import main

    folder = tmp_path_factory.mktemp("instructor")
    Handin(CH01, solved={1}, writes=ALL).write(folder / "submissions" / "zoe", flat=False)
    hostile = make_hostile(payload_listener[0], [w.grade_id for w in written_answers(CH01)])
    Handin(CH01, solved={1}, writes=ALL, edit=hostile).write(folder / "submissions" / "mallory", flat=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):  # a generous cell time limit: this test is about the formgrader
        assert main(["grade", str(folder / "submissions"), "--course", str(folder / "course"), "--jobs", "2",
                     "--timeout", "600", "--no-progress"]) == 0
    assert "0 could not be graded" in out.getvalue(), out.getvalue()
    return folder


def csv_row(course, student):
    with open(course / "grades.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}[student]


def test_grade_a_written_answer_in_the_formgrader(graded_class):
    from aeworkbook.course.grading import Course, export_csv
    from aeworkbook.course.nbconfig import COURSE_ID, sqlite_url

    course = graded_class / "course"
    question = written_answers(CH01)[0]
    auto = exercises(CH01)[0].points
    assert csv_row(course, "zoe")["total_is"] == "provisional"
    with Gradebook(sqlite_url(course), COURSE_ID) as gradebook:
        submission_id = gradebook.find_submission_notebook(source_notebook(CH01).stem, CH01, "zoe").id
    command = ["aeworkbook", "--workbook", str(ROOT), "formgrader", "--course", str(course)]
    with jupyter_server(command, graded_class, graded_class / "formgrader.log") as url, chromium() as driver:
        with evidence(driver, "formgrader-assignments"):
            driver.get(f"{url}/formgrader/manage_assignments?token={TOKEN}")
            wait_for(lambda: all(ch in driver.find_element("tag name", "body").text for ch in chapter_ids()), 120,
                     what="the chapters in Manage Assignments")
            assert "not a subdirectory" not in driver.page_source
        with evidence(driver, "formgrader-gradebook"):
            # Manual Grading for chapter 1: the class's submissions, names hidden until asked for.
            listed = lambda: "Submission #1" in driver.find_element("tag name", "body").text  # noqa: E731
            for attempt in range(3):  # the table loads by a request of its own; a loaded machine can lose it
                driver.get(f"{url}/formgrader/gradebook/{CH01}/{source_notebook(CH01).stem}?token={TOKEN}")
                try:
                    wait_for(listed, 60, what="the graded submission")
                    break
                except TimeoutError:
                    if attempt == 2:
                        raise
            driver.find_element("xpath", "//button[contains(., 'Show All Names')]").click()
            wait_for(lambda: "zoe" in driver.find_element("tag name", "body").text, 30, what="the student's name")
        with evidence(driver, "formgrader-submission"):
            driver.get(f"{url}/formgrader/submissions/{submission_id}/?token={TOKEN}")
            score = wait_for(lambda: driver.find_elements("id", question.grade_id), 120, what="the score box")[0]
            assert f"A student's thoughts on {question.grade_id}." in driver.page_source
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", score)
            score.clear()
            score.send_keys("1.5")
            driver.execute_script("arguments[0].blur(); arguments[0].dispatchEvent(new Event('change'));", score)

            def saved():
                with Gradebook(sqlite_url(course), COURSE_ID) as gradebook:
                    grade = gradebook.find_grade(question.grade_id, source_notebook(CH01).stem, CH01, "zoe")
                    return grade.manual_score == 1.5
            wait_for(saved, 60, what="the formgrader to save the grade")
    export_csv(Course(str(ROOT), str(course), sqlite_url(course)), course / "grades.csv")
    row = csv_row(course, "zoe")
    assert float(row["total"]) == auto + 1.5
    assert int(row["to_grade_by_hand"]) == len(written_answers(CH01)) - 1
    assert float(row["max_total"]) == sum(max_points(ch) for ch in chapter_ids())


def test_no_script_of_a_student_runs_in_the_formgrader_or_the_feedback(graded_class, payload_listener):
    """Every payload of mallory's stays inert where the instructor and she look at it: the page keeps its
    title, no payload's marker is set, the listener hears nothing; zoe's maths and figures show."""
    from aeworkbook.course.nbconfig import COURSE_ID, sqlite_url

    port, asked = payload_listener
    course = graded_class / "course"
    notebook = source_notebook(CH01).stem
    with Gradebook(sqlite_url(course), COURSE_ID) as gradebook:
        ids = {s: gradebook.find_submission_notebook(notebook, CH01, s).id for s in ("mallory", "zoe")}
    pages, policies = {}, []
    command = ["aeworkbook", "--workbook", str(ROOT), "formgrader", "--course", str(course)]
    with jupyter_server(command, graded_class, graded_class / "formgrader-hostile.log") as url, chromium() as driver:
        for student, submission_id in ids.items():
            page = f"{url}/formgrader/submissions/{submission_id}/?token={TOKEN}"
            policies.append(urllib.request.urlopen(page).headers.get_all("Content-Security-Policy"))
            pages[f"formgrader-{student}"] = page
        for student in ids:
            pages[f"feedback-{student}"] = (course / "feedback" / student / CH01 / f"{notebook}.html").as_uri()
        for name, page in pages.items():
            with evidence(driver, name):
                driver.get(page)
                wait_for(lambda: driver.execute_script("return document.readyState") == "complete", 60)
                if name.startswith("formgrader"):  # the policy lets the formgrader's own scripts run
                    assert driver.execute_script("return typeof jQuery === 'function' && typeof Backbone === 'object'"
                                                 " && typeof toggle_name === 'function' && !!submission_id")
                time.sleep(3)  # time for an onerror, an autofocus, a 1 s refresh
                assert driver.title == notebook, f"{name}: a payload retitled the page: {driver.title}"
                assert driver.execute_script("return window.aeworkbookPwned === undefined"), name
                if "zoe" in name:  # an honest student's figures and maths show
                    figures = driver.execute_script(
                        "return [...document.querySelectorAll('img')]"
                        ".filter(i => i.src.startsWith('data:image/png') && i.naturalWidth > 0).length")
                    assert figures >= 1, f"{name}: no figure"
                    text = driver.find_element("tag name", "body").text
                    assert "$h = f(x)$" in text or driver.find_elements("css selector", ".MathJax, mjx-container")
                    driver.execute_script("document.querySelector('img[src^=\"data:image/png\"]')"
                                          ".scrollIntoView({block: 'center'})")
                    ARTIFACTS.mkdir(parents=True, exist_ok=True)
                    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    assert not asked, f"payloads called the listener: {asked}"
    # Defence in depth: a policy lets only the formgrader's own scripts run on its submission pages
    assert all(any("script-src" in p and "'sha256-" in p for p in policy) for policy in policies), policies
