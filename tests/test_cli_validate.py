"""``aeworkbook validate``: exercise by exercise, as the grader would score them; non-zero unless all pass."""

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from workbook import (ROOT, cell_by_id, chapter_ids, exercises, source_notebook, student_notebook, submission,
                      written_answers)

CH04 = "ch04_kl_divergence"


def written(out):
    """{written answer grade id: status} from validate's report."""
    return dict(re.findall(r"^\s+Q\d+\. (\S+)\s+(answered|not answered)\s+\? / [\d.]+$", out, re.M))


def statuses(out):
    """{exercise number: (status, earned, points)} from validate's report."""
    found = re.findall(r"^\s+(\d+)\. \S+\s+(passed|failed|not attempted|not run)\s+([\d.]+) / ([\d.]+)", out, re.M)
    return {int(n): (status, float(earned), float(points)) for n, status, earned, points in found}


# One chapter is enough here: the wrong-answer checks (tests/answers/) run every chapter's solution through
# the same executor and scoring rule and require full marks for each exercise.
@pytest.mark.parametrize("chapter", [CH04])
def test_solution_passes_every_exercise(aeworkbook, chapter):
    status, out, _ = aeworkbook("validate", source_notebook(chapter))
    assert status == 0, out
    assert statuses(out) == {e_number: ("passed", e.points, e.points)
                             for e_number, e in enumerate(exercises(chapter), start=1)}, out


# Two chapters are enough for validate's report of a blank copy: that every released stub earns nothing is
# checked exercise by exercise, in every chapter, by the wrong-answer checks (tests/answers/, the "stub").
@pytest.mark.parametrize("chapter", [chapter_ids()[0], chapter_ids()[-1]])
def test_blank_student_version_attempts_nothing_and_fails(aeworkbook, chapter):
    status, out, _ = aeworkbook("validate", student_notebook(chapter))
    assert status == 1
    assert {n: s for n, (s, _, _) in statuses(out).items()} == {
        n: "not attempted" for n in range(1, len(exercises(chapter)) + 1)}
    assert f"points: 0 / {sum(e.points for e in exercises(chapter)):g}" in out
    assert written(out) == {w.grade_id: "not answered" for w in written_answers(chapter)}, "graded by hand, not failed"


@pytest.mark.parametrize("how", [[], ["--sandbox"]], ids=["own kernel", "grader's sandbox"])
def test_partly_solved_copy_anywhere_on_disk(aeworkbook, tmp_path, how):
    first, second, third, _ = exercises(CH04)
    nb = submission(CH04, {second.answer_id, third.answer_id})
    for answer in written_answers(CH04)[:1]:
        cell_by_id(nb, answer.grade_id).source = "My own words."
    wrong = cell_by_id(nb, third.answer_id)
    wrong.source = wrong.source.replace("return", "return 2 * ", 1)  # a wrong formula
    path = tmp_path / "somewhere" / "my copy.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    before = path.read_bytes()
    environment = dict(os.environ)

    status, out, _ = aeworkbook("validate", *how, path)
    assert dict(os.environ) | {"PATH": ""} == environment | {"PATH": ""}, "validate restores the environment"
    assert status == 1
    found = statuses(out)
    assert found[1] == ("not attempted", 0, first.points)
    assert found[2] == ("passed", second.points, second.points)
    assert found[3][0] == "failed" and found[3][1] == 0
    assert re.search(r"^\s+3\. .*failed.*AssertionError: \S", out, re.M), "the first assertion message is shown"
    assert f"points: {second.points:g} / " in out
    assert written(out) == {w.grade_id: ("answered" if w.number == 1 else "not answered")
                            for w in written_answers(CH04)}
    assert path.read_bytes() == before, "validate never changes the notebook"


def test_unusable_input_gets_a_clear_message(aeworkbook, tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    status, _, err = aeworkbook("validate", tmp_path / "missing.ipynb", broken)
    assert status == 2
    assert "missing.ipynb: no such file" in err and "broken.ipynb: not a valid notebook" in err


def test_the_installed_command_runs():
    command = Path(sys.executable).parent / "aeworkbook"  # installed by pyproject.toml's [project.scripts]
    result = subprocess.run([command, "validate", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and "NOTEBOOK" in result.stdout
