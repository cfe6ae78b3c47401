"""Hidden tests run after the notebook's last cell, out of every student cell's reach (issue 21), on tiny
notebooks without TensorFlow: a kernel each, a few seconds."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from aeworkbook.course.execute import TAMPERED, GraderExecute, hidden_failure, split_hidden
from aeworkbook.course.validate import environment

SECRET = "secret_expected_value_4711"


def cell(source, **nbgrader):
    return new_code_cell(source, metadata={"nbgrader": {"grade_id": nbgrader.pop("grade_id", None), **nbgrader}})


def notebook(answer: str, after: str = "") -> nbformat.NotebookNode:
    """Set-up, an answer, its test (a helper, a visible check, hidden checks that use the helper), a later
    test that binds the same helper name, and a last answer cell of the student's."""
    return new_notebook(cells=[
        cell("import math", grade_id="setup", locked=True),
        cell(answer, grade_id="answer", solution=True),
        cell('def check(x):\n    assert double(x) == 2 * x, "double should double its input"\n\ncheck(1)\n'
             f"### BEGIN HIDDEN TESTS\n{SECRET} = 21\ncheck({SECRET})\n"
             'assert double(0.5) == 1.0, f"double(0.5) is 1.0, not {double(0.5)}"\n'
             "### END HIDDEN TESTS", grade_id="test", grade=True, locked=True, points=1),
        cell("def check(x):\n    pass\n\ncheck(1)", grade_id="other_test", grade=True, locked=True, points=1),
        cell(after, grade_id="last", solution=True)])


def run(nb, **options):
    executor = GraderExecute(timeout=30, **options)
    with environment(NBGRADER_EXECUTION="autograde"):
        executor.preprocess(nb, {"metadata": {"path": "."}})
    return executor


def by_id(nb, grade_id="test"):
    (found,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return found


def score(nb, grade_id="test") -> float:
    from nbgrader.utils import determine_grade

    return float(determine_grade(by_id(nb, grade_id))[0] or 0)


EXFILTRATE = """\
import linecache
print("In", In, "_ih", _ih)
print("history", list(get_ipython().history_manager.get_range(raw=True)))
print("linecache", [''.join(lines) for _, _, lines, _ in linecache.cache.values()])
"""


def test_hidden_tests_score_and_see_their_own_helpers_but_stay_out_of_every_output():
    right = notebook("def double(x):\n    return 2 * x", EXFILTRATE)
    run(right)
    assert score(right) == 1, by_id(right).outputs
    outputs = str([c.get("outputs", []) for c in right.cells])
    assert "check(1)" in outputs, "the student's last cell reads the visible tests back (the channel works)"
    assert SECRET not in outputs

    wrong = notebook("def double(x):\n    return 2 * x if x == 1 else x", EXFILTRATE)
    run(wrong)
    assert score(wrong) == 0
    (error,) = [o for o in by_id(wrong).outputs if o.output_type == "error"]
    assert (error.ename, error.evalue) == ("AssertionError", "double should double its input (in the hidden tests)")
    assert SECRET not in str([c.get("outputs", []) for c in wrong.cells])


def test_a_failed_visible_part_scores_0_without_running_its_hidden_tests():
    """Its hidden tests could only add a second error: skipping them saves a careless class's grading time."""
    failed = notebook("def double(x):\n    return x")
    run(failed)
    assert score(failed) == 0
    errors = [o.evalue for o in by_id(failed).outputs if o.output_type == "error"]
    assert errors == ["double should double its input"], "the visible failure only, no hidden one"


def test_a_hidden_failure_shows_a_builtin_type_and_only_a_message_the_hidden_tests_hold():
    source = by_id(notebook("")).source
    leaked = hidden_failure({"ename": f"Leak_{SECRET}", "evalue": f"{SECRET} double should double its input"}, source)
    assert (leaked.ename, leaked.evalue) == ("Error", "double should double its input (in the hidden tests)")
    formatted = hidden_failure({"ename": "AssertionError", "evalue": f"double(0.5) is 1.0, not {SECRET}"}, source)
    assert formatted.evalue == "double(0.5) is 1.0, not … (in the hidden tests)", "an f-string's values left out"


def test_the_visible_part_keeps_its_line_numbers():
    visible, hidden = split_hidden("a = 1\n### BEGIN HIDDEN TESTS\nb = 2\n### END HIDDEN TESTS\nc = 3")
    assert visible.splitlines() == ["a = 1", "", "", "", "c = 3"] and hidden.splitlines()[1] == "b = 2"


def test_a_kernel_that_passes_a_check_that_must_fail_scores_0_and_is_flagged():
    """With the guard off (so that nothing puts the kernel back), an answer that makes every cell pass
    earns full marks but for the canaries."""
    cheat = """\
def double(x):
    return x
kernel_class = type(get_ipython().kernel)
genuine = kernel_class.do_execute
async def do_execute(self, code, *args, **kwargs):
    return await genuine(self, "pass" if code.strip() else code, *args, **kwargs)
kernel_class.do_execute = do_execute
"""
    nb = notebook(cheat)
    executor = run(nb, guard=False)
    assert TAMPERED in executor.flags and score(nb) == 0 and score(nb, "other_test") == 0
    assert nb.metadata["aeworkbook"]["flags"][-1] == TAMPERED
    assert nb.cells[0].source.startswith("**Flagged for review.**")
