"""The student's JupyterLab in a real browser (``pytest -m browser``; skipped without Chromium).

As the README says: ``aeworkbook lab --fast`` copies the chapters to a working folder and opens
JupyterLab there with the student settings. One JupyterLab and one browser for the whole file; the
tests run in order on the same notebook (chapter 1, the fast profile).
"""

import re

import nbformat
import pytest

from browser import (cell_element, cell_index, cell_outputs, chromium, command, evidence, execution_count,
                     jupyter_server, lab_call, missing_browser, run_cell, type_into_cell, wait_for, wait_until_run, TOKEN)
from workbook import ROOT, chapter_ids, exercises, source_notebook, written_answers

pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(missing_browser()), reason=str(missing_browser()))]

CH01 = chapter_ids()[0]
NOTEBOOK = f"{CH01}/{source_notebook(CH01).name}"
TF_NOISE = re.compile(r"oneDNN|cuda|TF_ENABLE|tensorflow/core|absl::|I0000|W0000|E0000|computation placer")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    work = tmp_path_factory.mktemp("student") / "work"
    command_line = ["aeworkbook", "--workbook", str(ROOT), "lab", "--fast", "--to", str(work),
                    "--LabApp.expose_app_in_browser=True"]
    with jupyter_server(command_line, work.parent, work.parent / "lab.log") as url, chromium() as driver:
        driver.get(f"{url}/lab/tree/{NOTEBOOK}?token={TOKEN}")
        with evidence(driver, "student-open"):
            wait_for(lambda: driver.execute_script("return !!(window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                                   " && document.querySelector('.jp-Notebook .jp-Cell'))"),
                     240, what="the notebook")
            wait_for(lambda: driver.execute_script(
                "const p = window.jupyterapp.shell.currentWidget; return p.sessionContext.session && "
                "p.sessionContext.session.kernel && p.sessionContext.session.kernel.status === 'idle';"),
                240, what="the kernel")
        yield driver, work


def test_students_see_no_instructor_or_exchange_tools(page):
    driver, work = page
    with evidence(driver, "student-menus"):
        menus = driver.execute_script("return [...document.querySelectorAll('.lm-MenuBar-itemLabel')].map(e => e.textContent)")
        assert "Kernel" in menus and "Nbgrader" not in menus, menus
        toolbar = driver.execute_script("return document.querySelector('.jp-NotebookPanel-toolbar').textContent")
        assert "Validate" not in toolbar, "students use `aeworkbook validate`, not nbgrader's button"
        assert (work / NOTEBOOK).exists() and (work / NOTEBOOK).read_bytes() != (ROOT / "chapters" / NOTEBOOK).read_bytes()


def test_run_all_renders_and_stops_at_the_first_unsolved_exercise(page):
    driver, work = page
    first = exercises(CH01)[0]
    with evidence(driver, "student-run-all"):
        command(driver, "notebook:run-all-cells")
        wait_until_run(driver, 600)
        assert driver.execute_script("return document.querySelector('.jp-RenderedMarkdown h1').textContent"
                                     ).startswith("Chapter 1")
        assert len(driver.execute_script("return document.querySelectorAll('.jp-RenderedMarkdown mjx-container')")) > 5, \
            "the maths is typeset"
        assert driver.execute_script("return document.querySelectorAll('.jp-RenderedImage img').length") >= 1, "a figure"
        # Run All stops at the first cell that raises: the first exercise's test, calling the unsolved answer,
        # which says so in one line (aw.start's handler) instead of a traceback.
        test = cell_index(driver, first.test_id)
        errors = [o for o in cell_outputs(driver, test) if o["output_type"] == "error"]
        assert [e["ename"] for e in errors] == ["NotImplementedError"]
        assert shown_error(driver, test).endswith("is an exercise not solved yet: replace "
                                                  "`raise NotImplementedError()` with your code")
        counts = driver.execute_script(
            "return window.jupyterapp.shell.currentWidget.content.widgets.map(c => c.model.type === 'code' ? "
            "c.model.executionCount : undefined);")
        assert all(c is None for c in counts[test + 1:]), "nothing after the failing test cell ran"
        for index, count in enumerate(counts[:test]):
            if count is not None:
                outputs = cell_outputs(driver, index)
                assert not [o for o in outputs if o["output_type"] == "error"], f"cell {index} failed"
                text = " ".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
                assert not TF_NOISE.search(text), f"TensorFlow log noise in cell {index}: {text[:300]}"
        # Run by hand, the demo cells after it say in one line what they need, not a traceback each.
        demos = lab_call(driver, "return panel.content.widgets.map((c, i) => i > arguments[0] && c.model.type === 'code'"
                                 " && !c.model.getMetadata('nbgrader') ? i : -1).filter(i => i >= 0);", test)
        seen = set()
        for index in demos:
            run_cell(driver, index)
            if [o for o in cell_outputs(driver, index) if o["output_type"] == "error"]:
                shown = shown_error(driver, index)
                kind = re.fullmatch(r"(NotImplementedError): `\w+` is an exercise not solved yet: .*|(NameError): name "
                                    r"'\w+' is not defined — an earlier cell that defines it failed or has not run; .*", shown)
                assert kind, f"cell {index} shows: {shown[:500]}"
                seen.add(kind.group(1) or kind.group(2))
            if len(seen) == 2:
                break
        assert seen == {"NotImplementedError", "NameError"}, seen


def shown_error(driver, index: int) -> str:
    """The text a student sees in the cell's error output (one line, or a whole traceback)."""
    return driver.execute_script("return arguments[0].querySelector('.jp-OutputArea-output[data-mime-type="
                                 "\"application/vnd.jupyter.stderr\"]').textContent.trim();", cell_element(driver, index))


def test_solve_an_exercise_in_the_browser_and_pass_its_test(page):
    driver, _ = page
    first = exercises(CH01)[0]
    with evidence(driver, "student-solve"):
        answer, test = cell_index(driver, first.answer_id), cell_index(driver, first.test_id)
        type_into_cell(driver, answer, first.solution)
        command(driver, "notebook:enter-command-mode")
        run_cell(driver, answer)
        run_cell(driver, test)
        assert execution_count(driver, test) is not None
        assert not [o for o in cell_outputs(driver, test) if o["output_type"] == "error"], cell_outputs(driver, test)


def test_write_a_discussion_answer_and_save(page):
    from aeworkbook.course.validate import unchanged_answer

    driver, work = page
    question = written_answers(CH01)[0]
    with evidence(driver, "student-written-answer"):
        index = cell_index(driver, question.grade_id)
        type_into_cell(driver, index, "Copying teaches the network nothing about the data.")
        run_cell(driver, index)  # renders the markdown
        wait_for(lambda: "Copying teaches" in driver.execute_script(
            "return arguments[0].textContent", driver.execute_script(
                "return window.jupyterapp.shell.currentWidget.content.widgets[arguments[0]].node", index)), 30,
                 what="the rendered answer")
        command(driver, "docmanager:save")
        saved = lambda: nbformat.read(work / NOTEBOOK, as_version=4)  # noqa: E731
        wait_for(lambda: "Copying teaches" in "".join(c.source for c in saved().cells), 30, what="the saved notebook")
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in saved().cells}
        assert not unchanged_answer(cells[question.grade_id]), "validate and the grader see it answered"
        assert cells[exercises(CH01)[0].answer_id].source.strip() == exercises(CH01)[0].solution.strip()
