"""nbgrader's validator, through its Python API (its command exits 0 even when a notebook fails)."""

import shutil

import nbformat
import pytest
from nbgrader.validator import Validator

from workbook import chapter_ids, exercises, nbgrader_meta, source_notebook, student_notebook


def failed_test_ids(path, tmp_path):
    """Grade ids of the graded test cells that fail when the notebook is run as nbgrader does."""
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    results = Validator().validate(str(copy))
    assert set(results) <= {"failed"}, f"unexpected validation result: {sorted(results)}"
    failed_sources = {cell["source"] for cell in results.get("failed", [])}
    test_cells = [c for c in nbformat.read(path, as_version=4).cells if nbgrader_meta(c).get("grade")]
    return {nbgrader_meta(c)["grade_id"] for c in test_cells if c.source.strip() in failed_sources}, results


@pytest.mark.parametrize("chapter", chapter_ids())
def test_solution_passes_every_test_cell(chapter, tmp_path):
    failed, results = failed_test_ids(source_notebook(chapter), tmp_path)
    errors = "\n\n".join(cell["raw_error"][-1500:] for cell in results.get("failed", []))
    assert failed == set() and not results.get("failed"), f"failing cells:\n{errors}"


@pytest.mark.parametrize("chapter", chapter_ids())
def test_untouched_student_version_fails_every_test_cell(chapter, tmp_path):
    failed, _ = failed_test_ids(student_notebook(chapter), tmp_path)
    assert failed == {exercise.test_id for exercise in exercises(chapter)}
