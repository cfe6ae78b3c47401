"""``aeworkbook fetch``: the student's working copy survives course updates and never loses an answer."""

import shutil

import nbformat

from aeworkbook.course.cli import main
from workbook import CHAPTERS, cell_by_id, chapter_ids, exercises, written_answers

CH01 = chapter_ids()[0]


def fetch(workbook_root, work, capsys):
    assert main(["--workbook", str(workbook_root), "fetch", "--to", str(work)]) == 0
    return capsys.readouterr().out


def test_fetch_copies_then_keeps_answers_through_a_course_update(tmp_path, capsys):
    root = tmp_path / "workbook"
    (root / "solutions").mkdir(parents=True)
    (root / "autograder").mkdir()
    shutil.copytree(CHAPTERS / CH01, root / "chapters" / CH01)
    work = tmp_path / "work"
    assert f"{CH01}     new" in fetch(root, work, capsys)
    (mine,) = (work / CH01).glob("*.ipynb")

    nb = nbformat.read(mine, as_version=4)
    first, written = exercises(CH01)[0], written_answers(CH01)[0]
    cell_by_id(nb, first.answer_id).source = first.solution
    cell_by_id(nb, written.grade_id).source = "My own words."
    nbformat.write(nb, mine)
    assert "up to date" in fetch(root, work, capsys)
    assert cell_by_id(nbformat.read(mine, as_version=4), written.grade_id).source == "My own words."

    # The course corrects the chapter: new prose, same exercises.
    released = root / "chapters" / CH01 / mine.name
    update = nbformat.read(released, as_version=4)
    update.cells[0].source += "\n\nA correction."
    nbformat.write(update, released)
    out = fetch(root, work, capsys)
    assert "updated" in out and ".backup" in out
    now = nbformat.read(mine, as_version=4)
    assert now.cells[0].source.endswith("A correction.")
    assert cell_by_id(now, first.answer_id).source == first.solution
    assert cell_by_id(now, written.grade_id).source == "My own words."
    (backup,) = (work / CH01 / ".backup").glob("*.ipynb")
    assert cell_by_id(nbformat.read(backup, as_version=4), written.grade_id).source == "My own words."
    assert "up to date" in fetch(root, work, capsys)


def test_lab_and_formgrader_start_jupyter_from_their_own_environment(tmp_path):
    """`.venv/bin/aeworkbook lab` with the environment not activated (its bin/ not on PATH) still finds
    JupyterLab: the server is this environment's, not whatever `jupyter` PATH leads to (here: none)."""
    import subprocess
    import sys
    from pathlib import Path

    from workbook import ROOT

    command = str(Path(sys.executable).parent / "aeworkbook")
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "gradebook.db").touch()
    for args in (["lab", "--to", str(tmp_path / "work")], ["formgrader", "--course", str(tmp_path / "course")]):
        run = subprocess.run([command, "--workbook", str(ROOT), *args, "--version"], capture_output=True,
                             text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
        assert run.returncode == 0 and run.stdout.strip().splitlines()[-1][:1].isdigit(), run.stderr[-2000:]
