"""Units of safe grading that need no kernel: the sandbox's command line, the feedback filter, the config."""

from pathlib import Path

from nbformat.v4 import new_code_cell, new_output

from aeworkbook.course.catalogue import Workbook
from aeworkbook.course.feedback import HideHiddenTests
from aeworkbook.course.nbconfig import course_config
from aeworkbook.course.sandbox import Limits, bwrap_command, bwrap_path
from workbook import ROOT

TEST_SOURCE = """\
def check(n):
    assert n > 0, "n must be positive"

check(1)
### BEGIN HIDDEN TESTS
check(secret_value_of_the_hidden_test - 100)
### END HIDDEN TESTS
"""


def graded_test_cell(traceback_line: int):
    cell = new_code_cell(TEST_SOURCE, metadata={"nbgrader": {"grade": True, "solution": False, "points": 2,
                                                             "grade_id": "t", "locked": True}})
    cell.execution_count = 7
    cell.outputs = [new_output("error", ename="AssertionError", evalue="n must be positive\nextra\nmore\nx: [1 2]",
                               traceback=["Traceback", f"Cell In[7], line {traceback_line}",
                                          "----> 6 check(secret_value_of_the_hidden_test - 100)",
                                          "Cell In[7], line 2", "AssertionError: n must be positive"])]
    return cell


def test_feedback_hides_the_hidden_tests_and_what_quotes_them():
    cell, _ = HideHiddenTests().preprocess_cell(graded_test_cell(6), {}, 0)
    shown = cell.source + str(cell.outputs)
    assert "secret_value_of_the_hidden_test" not in shown
    assert "check(1)" in cell.source and "hidden tests: not shown" in cell.source
    assert cell.outputs[0].traceback == ["AssertionError: n must be positive\nextra\nmore", "  (in the hidden tests)"]


def test_feedback_quotes_a_failing_visible_line():
    cell, _ = HideHiddenTests().preprocess_cell(graded_test_cell(4), {}, 0)
    assert cell.outputs[0].traceback[-1] == '  (at line 2: assert n > 0, "n must be positive")', "the deepest line"


def test_the_sandbox_shows_the_kernel_no_instructor_files():
    command = bwrap_command(["python", "-m", "ipykernel_launcher"], Path("/tmp/aew-x"), Limits())
    mounted = {command[i + 1] for i, flag in enumerate(command) if flag in ("--bind", "--ro-bind")}
    assert not any(Path(p) in (ROOT, ROOT / "solutions") or Path(p).is_relative_to(ROOT / "solutions")
                   for p in mounted), mounted
    assert "--bind" not in command and "/tmp/aew-x" in mounted, "no host folder is writable, the run folder is read-only"
    assert command[command.index("/usr/bin/env"):][:3] == ["/usr/bin/env", "-i", bwrap_path() or "bwrap"], "bwrap gets no environment"
    for flag in ("--unshare-all", "--disable-userns", "--die-with-parent", "--clearenv"):
        assert flag in command
    assert command[-5:] == ["/", "--", "python", "-m", "ipykernel_launcher"] and command[-6] == "--remount-ro"
    assert f"--as={Limits().memory_mb * 2**20}" in command


def test_grading_config_replaces_execute_and_hides_hidden_tests_unless_asked(tmp_path):
    workbook = Workbook(ROOT)
    hidden = course_config(workbook, tmp_path, sandbox=True)
    assert hidden.Autograde.autograde_preprocessors[0].__name__ == "GraderExecute"
    assert hidden.GraderExecute.sandbox is True
    assert HideHiddenTests in hidden.GenerateFeedback.preprocessors
    revealed = course_config(workbook, tmp_path, sandbox=False, reveal_hidden_tests=True)
    assert "preprocessors" not in revealed.GenerateFeedback and revealed.GraderExecute.sandbox is False
