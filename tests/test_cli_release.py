"""``aeworkbook release``: chapters/ is what nbgrader makes of solutions/, and malformed sources change nothing."""

import nbformat
import pytest

from workbook import ROOT, cell_by_id, exercises

CH04 = "ch04_kl_divergence"


def test_committed_student_versions_are_fresh(aeworkbook):
    status, out, _ = aeworkbook("--workbook", ROOT, "release", "--check")
    assert status == 0, f"chapters/ is stale; run `aeworkbook release`:\n{out}"
    assert "up to date" in out


def student_copy(workbook):
    return workbook / "chapters" / CH04 / f"{CH04}.ipynb"


def test_check_names_a_stale_chapter_and_release_regenerates_it(aeworkbook, workbook_copy):
    path = student_copy(workbook_copy)
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\nAn edit made by hand in chapters/."
    nbformat.write(nb, path)

    status, out, _ = aeworkbook("--workbook", workbook_copy, "release", "--check")
    assert status == 1 and f"stale: chapters/{CH04}" in out
    assert "ch01" not in out, "only the edited chapter is stale"
    assert "An edit made by hand" in path.read_text(), "--check changes nothing"

    status, out, _ = aeworkbook("--workbook", workbook_copy, "release", CH04)
    assert status == 0 and f"regenerated chapters/{CH04}" in out
    assert aeworkbook("--workbook", workbook_copy, "release", "--check")[0] == 0


def duplicate_grade_id(nb):
    first, second = exercises(CH04)[:2]
    cell_by_id(nb, second.answer_id).metadata.nbgrader["grade_id"] = first.answer_id


def cell_without_points(nb):
    cell_by_id(nb, exercises(CH04)[0].test_id).metadata.nbgrader["points"] = 0


def open_solution_region(nb):
    cell = cell_by_id(nb, exercises(CH04)[0].answer_id)
    cell.source = cell.source.replace("### END SOLUTION", "")


def hidden_tests_in_a_block(nb):
    """Hidden tests the grader could not run on their own, after the notebook's last cell."""
    cell = cell_by_id(nb, exercises(CH04)[0].test_id)
    cell.source += "\nif True:\n    ### BEGIN HIDDEN TESTS\n    assert True\n    ### END HIDDEN TESTS\n"


@pytest.mark.parametrize("break_source, complaint", [
    (duplicate_grade_id, "is used 2 times"),
    (cell_without_points, "a graded test cell without points"),
    (open_solution_region, "'### BEGIN SOLUTION' without a matching '### END SOLUTION'"),
    (hidden_tests_in_a_block, "the hidden tests must be whole statements at the top level of the cell"),
])
def test_malformed_source_is_refused_and_nothing_changes(aeworkbook, workbook_copy, break_source, complaint):
    source = workbook_copy / "solutions" / CH04 / f"{CH04}.ipynb"
    nb = nbformat.read(source, as_version=4)
    break_source(nb)
    nbformat.write(nb, source)
    before = {p: p.read_bytes() for p in (workbook_copy / "chapters").rglob("*") if p.is_file()}

    status, _, err = aeworkbook("--workbook", workbook_copy, "release")
    assert status == 2 and complaint in err and CH04 in err
    assert {p: p.read_bytes() for p in (workbook_copy / "chapters").rglob("*") if p.is_file()} == before


def test_unknown_chapter_is_refused(aeworkbook, workbook_copy):
    status, _, err = aeworkbook("--workbook", workbook_copy, "release", "ch99_nothing")
    assert status == 2 and "no such chapter: ch99_nothing" in err


def test_a_folder_that_is_not_the_workbook_is_refused(aeworkbook, tmp_path):
    status, _, err = aeworkbook("--workbook", tmp_path, "release", "--check")
    assert status == 2 and f"{tmp_path} is not the workbook" in err and "Traceback" not in err
