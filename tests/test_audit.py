"""The static audit of a submission's code (aeworkbook.course.audit): no correct answer of the workbook is
flagged, and every trick of issue 21 is, with its cell and line. Reads notebooks only: about a second."""

import nbformat
import pytest

from aeworkbook.course.audit import audit_notebook
from classroom import TAMPERING, TAMPERING_CHAPTER, add_cell_above_set_up, answer, tamper
from workbook import cell_by_id, chapter_ids, exercises, source_notebook, submission
from wrong_answers import read_answers


@pytest.mark.parametrize("chapter", chapter_ids())
def test_no_solution_is_flagged(chapter):
    assert audit_notebook(nbformat.read(source_notebook(chapter), as_version=4)) == []


@pytest.mark.parametrize("chapter", chapter_ids())
def test_no_right_or_wrong_answer_is_flagged(chapter):
    """Honest answers, right or wrong (tests/answers/*.yaml), are never flagged: a flag means tampering."""
    nb = submission(chapter)
    flagged = []
    for answer_id, listed in read_answers(chapter).items():
        cell = cell_by_id(nb, answer_id)
        solution = cell.source
        for kind in ("right", "wrong", "accepted"):
            for entry in (listed or {}).get(kind) or []:
                cell.source = entry["code"]
                flagged += [f"{answer_id} [{kind}] {entry['why']}: {flag}" for flag in audit_notebook(nb)]
        cell.source = solution
    assert flagged == []


@pytest.mark.parametrize("trick", sorted(TAMPERING))
def test_every_trick_is_flagged_with_its_cell_and_line(trick):
    nb = submission(TAMPERING_CHAPTER, set())
    tamper(trick)(nb)
    flags = audit_notebook(nb)
    cell = [i for i, c in enumerate(nb.cells, start=1) if c is cell_by_id(nb, answer(TAMPERING_CHAPTER, 1))][0]
    assert flags, f"{trick} is not flagged"
    assert {flag.cell for flag in flags} == {cell}
    assert all(flag.grade_id == exercises(TAMPERING_CHAPTER)[0].answer_id for flag in flags)
    trick_lines = range(len(nb.cells[cell - 1].source.splitlines()) - len(TAMPERING[trick].strip().splitlines()) + 1,
                        len(nb.cells[cell - 1].source.splitlines()) + 1)
    assert all(flag.line in trick_lines for flag in flags), [str(f) for f in flags]


def test_a_cell_above_the_set_up_is_flagged():
    nb = submission(TAMPERING_CHAPTER, set())
    add_cell_above_set_up(nb)
    flags = [str(flag) for flag in audit_notebook(nb)]
    assert "cell 1, line 1: code above the read-only set-up cell (it runs before the grader's guard)" in flags
    assert "cell 1, line 2: assigns onto a library: numpy.allclose" in flags


@pytest.mark.parametrize("code, flagged", [
    ("t = np.testing\nt.assert_allclose = print", "assigns onto a library: t.assert_allclose"),
    ("from keras import Model\nModel.count_params = lambda self: 3", "assigns onto a library: Model.count_params"),
    ("x = getattr(np, 'test' + 'ing')", "getattr with a computed name"),
    ("g = getattr\nx = g(np, 'test' + 'ing')", "uses getattr as a value"),
    ("import operator\nx = operator.attrgetter('_' * 2 + 'globals' + '_' * 2)(np.isclose)",
     "attrgetter with a computed name"),
    ("import operator\nx = operator.attrgetter('isclose.__globals__')(np)", "names an attribute"),
    ("import matplotlib_inline.backend_inline as b\nshell = b.get_ipython()", "reaches .get_ipython"),
    ("S = type(model)\nS.fit = S.evaluate", "assigns onto a class: S.fit"),
    ("def quiet(*args):\n    return None\nthing.send = quiet", "puts a function onto an object: thing.send"),
    ("handler.emit = lambda record: None", "puts a function onto an object: handler.emit"),
    ("%time np.testing.assert_allclose = print", "assigns onto a library: np.testing.assert_allclose"),
    ("!cat /tmp/*.py", "uses get_ipython"),
    ("print(_i3)", "uses _i3"),
    ("def f():\n    global np\n    np = None", "rebinds 'np' through a global statement"),
    ("for keras in range(3):\n    pass", "rebinds 'keras', a name the read-only set-up defines"),
    ("try:\n    pass\nexcept Exception as e:\n    e.__traceback__.tb_frame.f_back.f_globals['np'] = None",
     "reaches .__traceback__"),
    ("import operator\ncode = operator.attrgetter('__code__')", "names .__code__"),
    ("model = keras.Sequential()\ntype(model).count_params = lambda self: 3",
     "assigns onto a library: type(...).count_params"),
])
def test_reaches_in_other_spellings_are_flagged(code, flagged):
    nb = submission(TAMPERING_CHAPTER, set())
    cell_by_id(nb, answer(TAMPERING_CHAPTER, 1)).source = code
    assert flagged in [flag.what for flag in audit_notebook(nb)]


def test_ordinary_keras_code_and_magics_are_not_flagged():
    nb = submission(TAMPERING_CHAPTER, set())
    cell_by_id(nb, answer(TAMPERING_CHAPTER, 1)).source = '''\
%matplotlib inline
%time x = np.ones(3)
class Layer(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
    def call(self, inputs):
        return inputs @ self.kernel
model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
model.layers[0].trainable = False
model.compile(optimizer="adam", loss="mse")
activation = getattr(keras.activations, "relu")
autoencoder, encoder, _ = None, None, None
'''
    assert audit_notebook(nb) == []
