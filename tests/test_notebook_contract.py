"""Static checks of every chapter: the exercise contract and the student versions."""

import re

import nbformat
import pytest

from aeworkbook.course.catalogue import Workbook, is_written_answer
from aeworkbook.course.release import check_sources
from workbook import (ROOT, chapter_ids, exercises, nbgrader_meta, source_notebook, student_notebook, total_points,
                      written_answers)

CHAPTERS = chapter_ids()


def test_there_are_chapters():
    assert "ch01_simple_sparse" in CHAPTERS


def all_cells(path):
    return nbformat.read(path, as_version=4).cells


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_source_notebook_has_no_outputs(chapter):
    cells = all_cells(source_notebook(chapter))
    assert not [c for c in cells if c.cell_type == "code" and (c.outputs or c.execution_count)]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_exercise_is_an_answer_cell_then_a_test_cell_with_points(chapter):
    found = exercises(chapter)
    assert found, f"{chapter} has no graded exercise"
    for exercise in found:
        assert exercise.test_id == f"{exercise.answer_id}_tests"
        assert exercise.answer_id.startswith(chapter[:4] + "_")
        assert exercise.points > 0
    test_cells = [c for c in all_cells(source_notebook(chapter))
                  if nbgrader_meta(c).get("grade") and not is_written_answer(c)]
    for cell in test_cells:
        hidden = cell.source.find("### BEGIN HIDDEN TESTS")
        assert hidden > 0, f"{nbgrader_meta(cell)['grade_id']}: visible asserts first, then hidden tests"
        assert "assert" in cell.source[:hidden] and "### END HIDDEN TESTS" in cell.source


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_prose_and_setup_cells_are_read_only(chapter):
    cells = all_cells(source_notebook(chapter))
    first_code = next(c for c in cells if c.cell_type == "code")
    assert nbgrader_meta(first_code).get("locked"), "the set-up cell must be read-only"
    assert "aw.start(" in first_code.source
    assert first_code.source.index("aw.start(") < first_code.source.index("import keras")
    for cell in cells:
        if cell.cell_type == "markdown" and not is_written_answer(cell):
            assert nbgrader_meta(cell).get("locked"), f"unlocked prose cell: {cell.source[:60]!r}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_points_announced_at_the_top_match_the_metadata(chapter):
    top = all_cells(source_notebook(chapter))[0].source
    match = re.search(r"\*\*Graded exercises: (\d+) points in all\.\*\*", top)
    assert match, "the first cell should announce the points"
    assert float(match.group(1)) == total_points(chapter)
    table = [float(points) for points in re.findall(r"^\|\s*\d+\s*\|.*\|\s*(\d+)\s*\|\s*$", top, re.MULTILINE)]
    assert table == [exercise.points for exercise in exercises(chapter)]


def test_sources_are_well_formed():
    """Unique grade ids across the workbook, closed solution and hidden-test regions, points on test cells."""
    assert check_sources(Workbook(ROOT)) == []


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_version_hides_solutions_and_hidden_tests(chapter):
    text = "\n".join(cell.source for cell in all_cells(student_notebook(chapter)))
    for leak in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert leak not in text
    for exercise in exercises(chapter):
        solution_lines = [line.strip() for line in exercise.hidden_code.splitlines()
                          if len(line.strip()) > 30 and not line.strip().startswith("#")]  # specific enough
        assert not [line for line in solution_lines if line in text], f"{exercise.answer_id} leaks solution code"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_discussion_questions_follow_the_convention_and_hide_their_model_answers(chapter):
    """A read-only question cell, then the written answer: points, a model answer and a rubric in solutions/,
    and nothing of them in chapters/ (nbgrader replaces the whole cell)."""
    source_cells = all_cells(source_notebook(chapter))
    student = {nbgrader_meta(c).get("grade_id"): c for c in all_cells(student_notebook(chapter))}
    for answer in written_answers(chapter):
        assert answer.grade_id.startswith(f"{chapter[:4]}_discuss_")
        assert answer.question.startswith(f"**Discussion question {answer.number}** ({answer.points:g} points")
        (cell,) = [c for c in source_cells if nbgrader_meta(c).get("grade_id") == answer.grade_id]
        assert "**Model answer.**" in cell.source and f"**Rubric ({answer.points:g} points).**" in cell.source
        assert student[answer.grade_id].source == "YOUR ANSWER HERE"
        assert nbgrader_meta(student[f"{answer.grade_id}_question"])["locked"]
    written = sum(answer.points for answer in written_answers(chapter))
    if written:
        assert f"**Discussion questions: {written:g} points, graded by hand.**" in source_cells[0].source


def test_no_chapter_without_a_source():
    student_chapters = sorted(p.name for p in (ROOT / "chapters").iterdir() if p.is_dir())
    assert student_chapters == CHAPTERS


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but tab, newline and carriage return


def strings_in(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings_in(value)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_notebooks_hold_no_control_characters(chapter):
    """A stray control character renders as nothing: "\\beta" written in a Python string became a
    backspace and "eta" in a model answer (issue 22)."""
    for path in (source_notebook(chapter), student_notebook(chapter)):
        found = {repr(m.group()) for text in strings_in(nbformat.read(path, as_version=4))
                 for m in CONTROL_CHARACTERS.finditer(text)}
        assert not found, f"{path.name}: control characters {sorted(found)}"
