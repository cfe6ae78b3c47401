"""Finding a class's notebooks in a folder, a zip of it, or an LMS bulk download (no grading: cheap)."""

import copy
import json
import shutil
import zipfile

import nbformat
import pytest

from aeworkbook.course.catalogue import Workbook, chapters, nbgrader_meta
from aeworkbook.course.submissions import SubmissionsError, collect, reconcile_cells, unpack
from workbook import cell_by_id, exercises, source_notebook, student_notebook

KNOWN = chapters(Workbook.find().solutions)
CH01, CH04 = "ch01_simple_sparse", "ch04_kl_divergence"


def found(collected):
    return sorted((s.student, s.chapter.id, s.path.name) for s in collected.submissions)


@pytest.fixture
def class_folder(tmp_path):
    folder = tmp_path / "class"
    (folder / "ada" / CH01).mkdir(parents=True)
    shutil.copy(student_notebook(CH01), folder / "ada" / CH01)
    (folder / "bob").mkdir()
    shutil.copy(student_notebook(CH04), folder / "bob" / "Untitled (2).ipynb")
    (folder / "bob" / ".ipynb_checkpoints").mkdir()
    shutil.copy(student_notebook(CH04), folder / "bob" / ".ipynb_checkpoints" / "old.ipynb")
    return folder


def test_folder_per_student_in_chapter_folders_or_flat(class_folder):
    collected = collect(class_folder, KNOWN)
    assert collected.students == ["ada", "bob"]
    assert found(collected) == [("ada", CH01, f"{CH01}.ipynb"), ("bob", CH04, "Untitled (2).ipynb")]
    assert collected.problems == [("bob", f"Untitled (2).ipynb: graded as {CH04} (expected the name {CH04}.ipynb)")]


def test_zip_of_the_class_folder_reads_the_same(class_folder, tmp_path):
    archive = shutil.make_archive(str(tmp_path / "class"), "zip", tmp_path, "class")
    collected = collect(unpack(tmp_path / "class.zip", tmp_path / "scratch"), KNOWN)
    assert found(collected) == found(collect(class_folder, KNOWN)) and archive.endswith(".zip")


def test_lms_bulk_download_names_the_students(tmp_path):
    folder = tmp_path / "download"
    folder.mkdir()
    for name in (f"ps_ada_attempt_2026-11-20-10-00-00_{CH01}.ipynb", f"ps_bob_attempt_2026-11-21-09-30-00_{CH04}.ipynb"):
        shutil.copy(student_notebook(CH01 if "ada" in name else CH04), folder / name)
    (folder / "readme.txt").write_text("downloaded from the LMS")
    with zipfile.ZipFile(tmp_path / "download.zip", "w") as archive:
        for path in folder.iterdir():
            archive.write(path, path.name)
    collected = collect(unpack(tmp_path / "download.zip", tmp_path / "scratch"), KNOWN)
    assert collected.students == ["ada", "bob"]
    assert [(s.student, s.chapter.id) for s in collected.submissions] == [("ada", CH01), ("bob", CH04)]
    assert collected.problems == [("-", "readme.txt: not in a student folder and not an LMS file name (ignored)")]


def test_unusable_input_is_refused_clearly(tmp_path):
    with pytest.raises(SubmissionsError, match="no such folder or zip archive"):
        unpack(tmp_path / "missing", tmp_path)
    (tmp_path / "grades.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(SubmissionsError, match="neither a folder nor a zip archive"):
        unpack(tmp_path / "grades.pdf", tmp_path)
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as archive:
        archive.writestr("../outside.ipynb", "{}")
    with pytest.raises(SubmissionsError, match="unsafe path"):
        unpack(tmp_path / "evil.zip", tmp_path / "scratch")


def test_grade_command_refuses_a_missing_folder_and_wrong_arguments(aeworkbook, tmp_path):
    status, _, err = aeworkbook("grade", tmp_path / "missing", "--course", tmp_path / "course")
    assert status == 2 and "no such folder or zip archive" in err
    with pytest.raises(SystemExit) as wrong:
        aeworkbook("grade", tmp_path, "--jobs", "0")
    assert wrong.value.code == 2


def test_symbolic_links_are_reported_and_never_followed(class_folder):
    """A link to the instructor's solution would be graded as the student's own work."""
    solution = source_notebook(CH01)
    (class_folder / "eve").mkdir()
    (class_folder / "eve" / solution.name).symlink_to(solution)
    (class_folder / "eve" / "more").symlink_to(solution.parent, target_is_directory=True)
    (class_folder / "zed").symlink_to(solution.parent, target_is_directory=True)
    collected = collect(class_folder, KNOWN)
    assert found(collected) == found(collect_without(class_folder, "eve", "zed"))
    link = "a symbolic link (not followed, not graded)"
    assert {("eve", f"{solution.name}: {link}"), ("eve", f"more: {link}"), ("-", f"zed: {link}")} \
        <= set(collected.problems)


def collect_without(folder, *students):
    copy_ = folder.parent / "copy"
    shutil.copytree(folder, copy_, symlinks=True, ignore=lambda d, names: [n for n in names if n in students])
    return collect(copy_, KNOWN)


def role(cell):
    return {k: v for k, v in nbgrader_meta(cell).items() if k not in ("checksum", "cell_type")}


def test_cells_pasted_duplicated_or_retagged_cost_only_themselves():
    """nbgrader fails the whole notebook on a grade id its chapter does not have; here each such cell is
    matched to the chapter's cell missing at its place, or graded as an ordinary cell, with a note."""
    chapter = next(ch for ch in KNOWN if ch.id == CH01)
    first, second, third = exercises(CH01)[:3]
    nb = nbformat.read(student_notebook(CH01), as_version=4)
    expected = {nbgrader_meta(c)["grade_id"]: role(c) for c in nb.cells[1:] if nbgrader_meta(c)}
    cell_by_id(nb, second.answer_id).metadata.nbgrader["grade_id"] = "ch02_deep_build"  # pasted from chapter 2
    duplicate = copy.deepcopy(cell_by_id(nb, third.answer_id))
    duplicate["id"] = "again"
    nb.cells.insert(nb.cells.index(cell_by_id(nb, third.test_id)) + 1, duplicate)  # tried again below the test
    stray = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade": True, "grade_id": "mine",
                                                                       "points": 50, "solution": False}})
    nb.cells.insert(nb.cells.index(cell_by_id(nb, first.answer_id)), stray)
    cell_by_id(nb, first.test_id).metadata.nbgrader.update(points=100, grade=False)  # a test cell's role changed
    nb.cells[0].metadata["nbgrader"] = "garbled"

    notes = reconcile_cells(nb, chapter)
    assert {nbgrader_meta(c)["grade_id"]: role(c) for c in nb.cells if nbgrader_meta(c)} == expected
    assert nbgrader_meta(cell_by_id(nb, second.answer_id)) and "nbgrader" not in stray.metadata
    assert all("grade_id" in cell.metadata["nbgrader"] for cell in nb.cells if "nbgrader" in cell.metadata)
    assert len(notes) == 4 and all(note.startswith("cell ") for note in notes), notes
    assert notes[0] == "cell 1: unreadable nbgrader metadata; graded as an ordinary cell"
    assert "graded as ch01_simple_ae_build, the cell missing there" in notes[2]
    assert f"a second cell with grade id {third.answer_id}" in notes[3]
    nbformat.validate(json.loads(nbformat.writes(nb)))


def test_submission_times_from_lms_names_and_timestamp_files(tmp_path):
    folder = tmp_path / "class"
    (folder / "ada" / CH01).mkdir(parents=True)
    shutil.copy(student_notebook(CH01), folder / "ada" / CH01)
    (folder / "ada" / CH01 / "timestamp.txt").write_text("2026-10-05 23:10:00 Europe/Paris\n")  # nbgrader collect's
    (folder / "bob").mkdir()
    shutil.copy(student_notebook(CH04), folder / "bob")
    (folder / "bob" / "timestamp.txt").write_text("2020-01-01 00:00:00 UTC")  # uploaded by bob himself?
    shutil.copy(student_notebook(CH01), folder / f"ps_cy_attempt_2026-11-20-10-00-00_{CH01}.ipynb")
    collected = collect(folder, KNOWN)
    times = {(s.student, s.chapter.id): s.submitted_at for s in collected.submissions}
    assert times == {("ada", CH01): "2026-10-05 23:10:00 Europe/Paris", ("bob", CH04): None,
                     ("cy", CH01): "2026-11-20-10-00-00"}
    assert collected.problems == [("bob", "timestamp.txt: not in nbgrader's <student>/<chapter>/ layout, so possibly "
                                          "the student's own file: ignored (handed in on time)")]


def test_a_file_name_a_student_chose_names_neither_another_student_nor_a_time(tmp_path):
    """The LMS writes "<assignment>_<student>_attempt_<time>_"; the rest is the name the student gave the file,
    which can repeat that form with another student and an earlier time."""
    folder = tmp_path / "download"
    folder.mkdir()
    shutil.copy(student_notebook(CH01), folder / f"ps_ada_attempt_2026-11-20-10-00-00_{CH01}.ipynb")
    shutil.copy(student_notebook(CH01), folder / f"ps_eve_attempt_2026-11-21-09-30-00_x_ada_attempt_2020-01-01-00-00"
                                                 f"-00_{CH01}.ipynb")
    collected = collect(folder, KNOWN)
    assert collected.students == ["ada", "eve"]
    assert {(s.student, s.submitted_at) for s in collected.submissions} == {
        ("ada", "2026-11-20-10-00-00"), ("eve", "2026-11-21-09-30-00")}


def test_fifos_devices_huge_files_and_odd_grade_ids_cost_only_that_file(class_folder, monkeypatch):
    """A FIFO would block the grader forever and a device or huge file fill its memory (a shared hand-in folder
    can hold them); a grade id that is a list or a mapping once stopped the whole class."""
    import os
    from aeworkbook.course import submissions

    (class_folder / "eve" / CH01).mkdir(parents=True)
    os.mkfifo(class_folder / "eve" / CH01 / f"{CH01}.ipynb")
    os.mkfifo(class_folder / "eve" / CH01 / "timestamp.txt")
    os.mkfifo(class_folder / f"ps_zed_attempt_2026-11-20-10-00-00_{CH01}.ipynb")
    (class_folder / "max").mkdir()
    (class_folder / "max" / f"{CH04}.ipynb").write_bytes(b" " * (2 * 2**20))
    monkeypatch.setattr(submissions, "MAX_FILE_MB", 1)
    for student, grade_id in (("lis", ["x"]), ("dot", {"a": 1})):
        nb = nbformat.read(student_notebook(CH01), as_version=4)
        next(c for c in nb.cells if nbgrader_meta(c)).metadata.nbgrader["grade_id"] = grade_id
        (class_folder / student).mkdir()
        nbformat.write(nb, class_folder / student / f"{CH01}.ipynb")
    collected = collect(class_folder, KNOWN)  # returns: nothing blocked
    assert found(collected) == [("ada", CH01, f"{CH01}.ipynb"), ("bob", CH04, "Untitled (2).ipynb"),
                                ("dot", CH01, f"{CH01}.ipynb"), ("lis", CH01, f"{CH01}.ipynb")]
    problems = set(collected.problems)
    assert ("eve", f"{CH01}/{CH01}.ipynb: not a regular file (a FIFO, socket or device: not read, not graded)") \
        in problems and ("eve", f"{CH01}/timestamp.txt: not a regular file (a FIFO, socket or device: not read, "
                                "not graded)") in problems
    assert any(s == "-" and "ps_zed" in what and "not a regular file" in what for s, what in problems)
    assert ("max", f"{CH04}.ipynb: 2 MB, larger than any notebook (1 MB): not read, not graded") in problems
