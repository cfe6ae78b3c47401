"""Hostile students (tests/classroom.py, ATTACKS) graded in the sandbox: each attack is tried for real and
must change nothing outside the attacker's own copy, reach nothing, outlive nothing and earn nothing. In the
same class (graded once), issue 21's students: each trick on the grading machinery (TAMPERING) is flagged
everywhere an instructor looks, and a student that reads the tests back every way it can (EXFILTRATE)
finds no hidden line in its outputs or feedback."""

import contextlib
import csv
import hashlib
import html
import io
import re
import socket
import threading
import uuid
from pathlib import Path

import nbformat
import pytest

from classroom import (HOSTILE_CHAPTER, TAMPERING_CHAPTER, Handin, answer, exfiltrating_class, expected_scores,
                       hostile_class, tampering_class, write_class)
from test_cli_grade import gradebook_scores, hidden_test_lines, tree_digest
from workbook import SOLUTIONS, cell_by_id, source_notebook

MARKER = f"aeworkbook-lingerer-{uuid.uuid4().hex}"


class Listener:
    """A TCP server on the grader's loopback that records every connection made to it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                connection, peer = self.server.accept()
            except OSError:
                continue
            self.connections.append(peer)
            connection.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def grade(*args):
    from aeworkbook.course.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["grade", *map(str, args), "--no-progress"])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """The hostile class graded in the sandbox, with 2 jobs, while a listener waits on loopback: the attackers
    of the sandbox (chapter 4), and the students who tamper with the grading or read the tests (chapter 1)."""
    root = tmp_path_factory.mktemp("hostile")
    submissions, course = root / "submissions", root / "course"
    listener = Listener()
    attackers = hostile_class(solutions=SOLUTIONS, course=course, submissions=submissions, port=listener.port,
                              marker=MARKER)
    students = attackers | tampering_class() | exfiltrating_class()
    write_class(submissions, students)
    before = tree_digest(submissions)
    try:
        status, out, err = grade(submissions, "--course", course, "--jobs", 2)
        alive = processes_with(MARKER)
    finally:
        listener.close()
    return dict(status=status, out=out, err=err, course=course, submissions=submissions, before=before,
                students=students, attackers=attackers, connections=listener.connections, alive=alive)


def autograded(course: Path, student: str, chapter: str = HOSTILE_CHAPTER) -> Path:
    return course / "autograded" / student / chapter / source_notebook(chapter).name


def feedback(course: Path, student: str, chapter: str) -> str:
    page = course / "feedback" / student / chapter / f"{source_notebook(chapter).stem}.html"
    return html.unescape(page.read_text())


def test_each_attacker_earns_exactly_its_honest_part(attacked):
    assert attacked["status"] == 0, attacked["out"] + attacked["err"]
    scores = gradebook_scores(attacked["course"])
    assert {s: scores[s] for s in attacked["attackers"]} == expected_scores(attacked["attackers"])


# -- tampering with the grading, and reading the tests (issue 21) -------------------------------------------------

def csv_flags(course: Path) -> dict:
    with open(course / "grades.csv", newline="") as f:
        return {row["student_id"]: row["flags"] for row in csv.DictReader(f)}


def test_every_trick_is_flagged_in_the_summary_the_csv_the_report_and_the_feedback(attacked):
    course, out = attacked["course"], attacked["out"]
    report, flags = (course / "report.md").read_text(), csv_flags(course)
    for student in tampering_class():
        assert re.search(rf"^  FLAGGED {student}, {TAMPERING_CHAPTER}: cell \d+", out, re.M), student
        assert flags[student] == TAMPERING_CHAPTER, student
        assert f"- **{student}, {TAMPERING_CHAPTER}**: ` cell " in report, student
        assert "Flagged for review." in feedback(course, student, TAMPERING_CHAPTER), student
    assert flags["ada"] == "" and "ada" not in re.findall(r"FLAGGED (\w+)", out)
    assert "## FLAGGED for review" in report


def test_a_kernel_whose_messaging_lies_earns_nothing(attacked):
    """The liar's Session drops its errors and reports failed tests as passed (canaries excepted): it got a blank
    notebook full marks; the guard now puts the kernel's messaging back before every test."""
    scores = gradebook_scores(attacked["course"])["liar"][TAMPERING_CHAPTER]
    assert scores and not any(scores.values()), scores
    assert f"note liar, {TAMPERING_CHAPTER}: before cell" in attacked["out"] and "Session.send" in attacked["out"]


def texts(value) -> list[str]:
    """Every string in a JSON-like value, as it is."""
    if isinstance(value, str):
        return [value]
    values = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in values for text in texts(item)]


def test_no_hidden_line_reaches_a_students_outputs_or_feedback(attacked):
    course = attacked["course"]
    nb = nbformat.read(autograded(course, "snoop", TAMPERING_CHAPTER), as_version=4)
    outputs = "\n".join(texts([cell.get("outputs", []) for cell in nb.cells]))
    assert "def check_simple_autoencoder(input_dim, encoding_dim):" in outputs, "the snoop reads the visible tests"
    shown = outputs + feedback(course, "snoop", TAMPERING_CHAPTER)
    secret = hidden_test_lines(TAMPERING_CHAPTER)
    assert secret and [line for line in secret if line in shown] == []


def test_nothing_outside_the_attackers_copy_changes(attacked):
    assert tree_digest(attacked["submissions"]) == attacked["before"], "the submissions were changed"
    meddled = [p for p in attacked["course"].rglob("*") if p.is_file() and b"MEDDLED-BY-MEDDLER" in p.read_bytes()]
    assert meddled == [], "files in the course directory were changed by a student"
    ada = (attacked["course"] / "submitted" / "ada" / HOSTILE_CHAPTER / source_notebook(HOSTILE_CHAPTER).name)
    assert hashlib.sha256(ada.read_bytes()).digest() == hashlib.sha256(
        (attacked["submissions"] / "ada" / HOSTILE_CHAPTER / ada.name).read_bytes()).digest()


def outputs_of(path: Path) -> str:
    return str([cell.get("outputs", []) for cell in nbformat.read(path, as_version=4).cells])


def test_no_solution_or_hidden_test_is_read(attacked):
    outputs = outputs_of(autograded(attacked["course"], "reader"))
    assert "unable to open database file" in outputs, "the gradebook is not there to read"
    assert "HIDDEN TESTS" not in outputs


def test_the_network_is_out_of_reach(attacked):
    assert attacked["connections"] == [], "a student's kernel connected to the grader's loopback"


def test_no_process_outlives_grading(attacked):
    assert attacked["alive"] == [], f"processes started by a student are still running: {attacked['alive']}"


def test_memory_and_file_limits_hold_and_are_reported(attacked):
    assert "note hog" in attacked["out"] and "ran out of memory" in attacked["out"]
    assert "File too large" in outputs_of(autograded(attacked["course"], "hog"))


def test_a_cell_that_ignores_the_interrupt_is_stopped_and_keeps_what_it_earned(attacked):
    assert "note stubborn" in attacked["out"] and "ignored the interrupt" in attacked["out"]  # its scores: above


def test_an_output_flood_is_cut(attacked):
    path = autograded(attacked["course"], "flooder")
    """Cut, or, when the kernel sends its prints as one message over 16 MB (it sends what it printed in 0.2 s at
    once), refused unread with the kernel stopped: noted either way."""
    assert path.stat().st_size < 2_000_000, f"the autograded copy keeps {path.stat().st_size:,} bytes"
    feedback = attacked["course"] / "feedback" / "flooder" / HOSTILE_CHAPTER / f"{path.stem}.html"
    assert feedback.stat().st_size < 3_000_000
    if "over the grader's 16 MB limit" not in attacked["out"]:
        assert "[output cut:" in path.read_text() and "output cut" in attacked["out"]


def test_tampering_is_undone_and_reported(attacked):
    for student in ("patcher", "silencer"):
        assert f"note {student}, {HOSTILE_CHAPTER}: before cell" in attacked["out"], student
        assert "put back what an answer replaced" in attacked["out"]


def test_the_summary_says_the_class_ran_in_the_sandbox(attacked):
    assert "isolation: every kernel ran in the bubblewrap sandbox" in attacked["out"]
    assert "bubblewrap sandbox" in (attacked["course"] / "report.md").read_text()


# -- without the sandbox, and where it cannot start ------------------------------------------------------------

def test_without_the_sandbox_the_attack_gets_through_and_the_summary_warns(tmp_path):
    """The same test that sees no connection above sees one here: the check can fail."""
    listener = Listener()
    students = {name: spec for name, spec in hostile_class(
        solutions=SOLUTIONS, course=tmp_path / "course", submissions=tmp_path / "s", port=listener.port,
        marker=MARKER).items() if name == "caller"}
    write_class(tmp_path / "s", students)
    try:
        status, out, _ = grade(tmp_path / "s", "--course", tmp_path / "course", "--jobs", 1, "--no-sandbox")
    finally:
        listener.close()
    assert status == 0 and listener.connections, "without the sandbox the caller reaches the listener"
    assert "WARNING: graded WITHOUT the sandbox" in out
    assert "WARNING: graded WITHOUT the sandbox" in (tmp_path / "course" / "report.md").read_text()


def test_a_job_that_kills_its_grading_worker_costs_only_its_own_grade(tmp_path):
    """Without the sandbox a kernel can kill its parent, the grading worker, which breaks the pool of workers and
    every job in it: the others are graded again and earn their points; only the killer's notebook fails."""
    def kill_the_worker(nb):
        cell_by_id(nb, answer(HOSTILE_CHAPTER, 3)).source += "\nimport os, signal\nos.kill(os.getppid(), signal.SIGKILL)"

    students = {"ada": (False, [Handin(HOSTILE_CHAPTER)]), "bob": (False, [Handin(HOSTILE_CHAPTER, solved={1})]),
                "kim": (False, [Handin(HOSTILE_CHAPTER, solved={1, 2}, edit=kill_the_worker)])}
    write_class(tmp_path / "s", students)
    status, out, _ = grade(tmp_path / "s", "--course", tmp_path / "course", "--jobs", 2, "--no-sandbox")
    scores = gradebook_scores(tmp_path / "course")
    expected = expected_scores(students)
    assert {s: scores[s] for s in ("ada", "bob")} == {s: expected[s] for s in ("ada", "bob")}, out
    assert f"kim, {HOSTILE_CHAPTER}: could not be graded" in out and "1 could not be graded" in out, out


@pytest.mark.parametrize("fake_bwrap, says", [
    (None, "bubblewrap (bwrap) is not installed"),
    ("echo 'bwrap: setting up uid map: Permission denied' >&2; exit 1", "apparmor_restrict_unprivileged_userns"),
])
def test_grading_stops_before_anything_when_the_sandbox_cannot_start(tmp_path, monkeypatch, fake_bwrap, says):
    tools = tmp_path / "bin"
    tools.mkdir()
    if fake_bwrap:
        (tools / "bwrap").write_text(f"#!/bin/sh\n{fake_bwrap}\n")
        (tools / "bwrap").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:/nonexistent")
    (tmp_path / "s" / "ada").mkdir(parents=True)
    status, out, err = grade(tmp_path / "s", "--course", tmp_path / "course")
    assert status == 2 and says in err and "--no-sandbox" in err
    assert "nothing was graded" in err and not (tmp_path / "course").exists()
