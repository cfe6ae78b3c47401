import os
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from aeworkbook.course.validate import environment
from aeworkbook.session import seed_everything
from workbook import chapter_ids, exercises, student_notebook


def test_start_imports_tensorflow_without_a_word_on_stderr():
    code = "import aeworkbook as aw; aw.start(seed=1); import keras; keras.layers.Dense(2)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "profile 'fast', seed 1" in result.stdout


def test_start_leaves_scikit_learn_to_the_notebooks_that_import_it():
    code = ("import sys, aeworkbook as aw; aw.start(); print('sklearn' in sys.modules)\n"
            "from sklearn.metrics import roc_auc_score; print(roc_auc_score([0, 1], [0.2, 0.9]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.splitlines()[-2:] == ["False", "1.0"], result.stdout + result.stderr


def test_python_warnings_go_to_stdout():
    code = "import aeworkbook as aw, warnings; aw.start(); warnings.warn('careful')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stderr == ""
    assert "UserWarning: careful" in result.stdout


def test_seeding_makes_numpy_and_keras_repeat():
    import keras

    def draw():
        layer = keras.layers.Dense(3)
        layer.build((None, 4))
        return np.random.rand(3), np.asarray(layer.kernel), np.asarray(keras.random.normal((2,)))

    seed_everything(7)
    first = draw()
    seed_everything(7)
    again = draw()
    seed_everything(8)
    other = draw()
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


TRAIN_TWICE = """
import numpy as np
from aeworkbook.session import build_optimizer_before_fit, quiet, seed_everything
quiet()
import keras

class Wrapper(keras.Model):  # a subclassed model of built parts (as Chapter 8's BetaVAE): Keras calls it unbuilt
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def call(self, x):
        return self.inner(x)


def train(subclassed=False):
    seed_everything(1)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(6)])
    model = Wrapper(model) if subclassed else model
    model.compile(optimizer="nadam", loss="mse")
    traces, step = [], model.train_step
    model.train_step = lambda data: traces.append(1) or step(data)
    x = np.random.default_rng(0).random((64, 6), dtype=np.float32)
    model.fit(x, x, epochs=2, batch_size=16, verbose=0)
    return len(traces), [w.tolist() for w in model.get_weights()]

def train_on_batches():
    seed_everything(1)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(6)])
    model.compile(optimizer="nadam", loss="mse")
    traces, step = [], model.train_step
    model.train_step = lambda data: traces.append(1) or step(data)
    x = np.random.default_rng(0).random((16, 6), dtype=np.float32)
    model.train_on_batch(x, x)
    model.train_on_batch(x, x)
    return len(traces)


keras_traces, keras_weights = train()
keras_subclassed = train(subclassed=True)
keras_batches = train_on_batches()
build_optimizer_before_fit()
build_optimizer_before_fit()  # a second call changes nothing
traces, weights = train()
subclassed = train(subclassed=True)
print(keras_traces, traces, weights == keras_weights, keras_subclassed[0], subclassed[0],
      subclassed[1] == keras_subclassed[1], keras_batches, train_on_batches())
"""


def test_a_built_optimizer_lets_fit_trace_its_step_once_and_train_the_same():
    result = subprocess.run([sys.executable, "-c", TRAIN_TWICE], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # Keras alone traces the step twice (its optimizer makes its variables in the first trace), for a
    # Sequential model and for a subclassed one made of built layers, in fit and in train_on_batch.
    assert result.stdout.split() == ["2", "1", "True", "2", "1", "True", "2", "1"]


@pytest.mark.parametrize("profile, disabled", [("fast", True), ("full", False)])
def test_only_the_fast_profile_turns_the_graph_optimiser_off(profile, disabled):
    code = ("import aeworkbook as aw; aw.start(); import tensorflow as tf; "
            "print(tf.config.optimizer.get_experimental_options().get('disable_meta_optimizer', False))")
    env = {**os.environ, "AEWORKBOOK_PROFILE": profile}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert result.stdout.splitlines()[-1] == str(disabled), result.stdout + result.stderr


def run_notebook(cells: list[str], env: dict | None = None, notebook=None):
    """Execute a notebook (or these code cells) in a kernel without stopping at errors.

    Returns the notebook and each code cell's execute_reply status, in order."""
    nb = notebook or nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    statuses = {}
    client = NotebookClient(nb, allow_errors=True, timeout=300, kernel_name="python3",
                            on_cell_executed=lambda cell, cell_index, execute_reply:
                            statuses.__setitem__(cell_index, execute_reply["content"]["status"]))
    with environment(**(env or {})):
        client.execute()
    return nb, statuses


def errors(cell) -> list:
    return [o for o in cell.outputs if o.output_type == "error"]


STUB = "def build(n):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
CELLS = ["import aeworkbook\nprint(aeworkbook.session.short_errors())", STUB, "model = build(3)", "model.fit()",
         "def mine():\n    return typo + 1", "mine()", "raise NotImplementedError('my own')"]


def test_an_unsolved_exercise_and_what_needs_it_fail_in_one_line_each():
    nb, statuses = run_notebook(CELLS)
    assert nb.cells[0].outputs[0].text == "True\n"
    unsolved, missing, typo, own = (errors(nb.cells[i])[0] for i in (2, 3, 5, 6))
    assert unsolved.traceback == ["NotImplementedError: `build` is an exercise not solved yet: "
                                  "replace `raise NotImplementedError()` with your code"]
    assert missing.traceback == ["NameError: name 'model' is not defined — an earlier cell that defines it failed or "
                                 "has not run; is an exercise above still unsolved? Solve it, then run the cells "
                                 "from there again."]
    # The cell still fails as before: same error, and the kernel's reply says error (Run All stops).
    assert (unsolved.ename, unsolved.evalue, missing.ename, missing.evalue) == (
        "NotImplementedError", "", "NameError", "name 'model' is not defined")
    assert [statuses[i] for i in (2, 3, 5, 6)] == ["error"] * 4
    # A typo inside the student's own function, or their own NotImplementedError, keeps its traceback.
    assert len(typo.traceback) > 1 and "mine()" in "".join(typo.traceback), "the line that failed"
    assert len(own.traceback) > 1 and own.evalue == "my own"


def test_the_grader_sees_ipythons_own_tracebacks():
    nb, _ = run_notebook(CELLS[:4], env={"NBGRADER_EXECUTION": "autograde"})
    assert nb.cells[0].outputs[0].text == "False\n"
    for i in (2, 3):
        assert len(errors(nb.cells[i])[0].traceback) > 1, "IPython's traceback, as nbgrader expects"


def test_outside_ipython_nothing_is_installed():
    code = "import aeworkbook.session as s; print(s.short_errors(), s.exit_without_teardown()); raise SystemExit(3)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout == "False False\n" and result.returncode == 3, "a script keeps its exit and its status"


def test_a_kernel_runs_every_exit_handler_then_skips_the_teardown(tmp_path):
    handler_ran, torn_down = tmp_path / "handler ran", tmp_path / "torn down"
    probe = (f"import sys, types\nclass Probe:\n    def __del__(self):\n        open({str(torn_down)!r}, 'w').close()\n"
             "sys.modules['teardown_probe'] = types.ModuleType('teardown_probe')\n"
             "sys.modules['teardown_probe'].probe = Probe()  # freed only by the interpreter's teardown")
    handler = f"import atexit\natexit.register(open, {str(handler_ran)!r}, 'w')"
    nb, _ = run_notebook(["import aeworkbook.session as s\nprint(s.exit_without_teardown())", probe, handler])
    assert nb.cells[0].outputs[0].text == "True\n"
    assert handler_ran.exists(), "a handler registered after start still runs at exit"
    assert not torn_down.exists(), "the interpreter's teardown (1 to 3 s with TensorFlow) is skipped"


@pytest.mark.parametrize("chapter", chapter_ids())
def test_run_through_a_student_chapter_each_error_is_one_line(chapter):
    """A chapter as released, every cell run however many fail: one line for each error, no cascade
    of tracebacks (a KeyError from a half-filled dict would be one); the first exercise's test names
    the unsolved function."""
    nb, statuses = run_notebook([], env={"AEWORKBOOK_PROFILE": "fast"},
                                notebook=nbformat.read(student_notebook(chapter), as_version=4))
    failed = {i: errors(c)[0] for i, c in enumerate(nb.cells) if c.cell_type == "code" and errors(c)}
    assert all(statuses[i] == "error" for i in failed)
    assert all(len(e.traceback) == 1 for e in failed.values()), {i: e.ename for i, e in failed.items()}
    first = exercises(chapter)[0]
    test = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == first.test_id)
    assert min(failed) == test and "is an exercise not solved yet" in failed[test].traceback[0]
    assert {e.ename for e in failed.values()} == {"NotImplementedError", "NameError"}
    assert any("is not defined — an earlier cell" in e.traceback[0] for e in failed.values())
