"""chapters/ is exactly what nbgrader generate_assignment makes from solutions/ today."""

import nbformat
import pytest

from workbook import chapter_ids, source_notebook, student_notebook


def comparable(path):
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.get("metadata", {})) for c in nb.cells]


@pytest.mark.parametrize("chapter", chapter_ids())
def test_committed_student_version_is_fresh(chapter, course):
    fresh = course.workbook / "chapters" / chapter / source_notebook(chapter).name
    assert comparable(student_notebook(chapter)) == comparable(fresh), \
        f"chapters/{chapter} is stale: regenerate it (see the README, 'For instructors')"
