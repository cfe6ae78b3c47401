"""Quiet, reproducible sessions: call :func:`start` before importing TensorFlow or Keras.

nbgrader scores a test cell 0 when it writes anything to stderr, and TensorFlow,
absl and Python warnings all write there. :func:`quiet` must therefore run
before TensorFlow is imported.

In a student's JupyterLab, :func:`start` also installs :func:`short_errors`: an unsolved
exercise, and every later cell that needs what it should have defined, then says so in
one line instead of a traceback.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import linecache
import logging
import os
import sys
import warnings

from .profiles import Profile, current_profile


def _warning_to_stdout(message, category, filename, lineno, file=None, line=None):
    # Warnings stay visible to students, but on stdout, where they cannot zero a graded cell.
    print(f"{category.__name__}: {message}", file=sys.stdout)


@contextlib.contextmanager
def _stderr_fd_silenced():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up logs bypass Python."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def _not_importable(name: str):
    """``import name`` fails while the block runs, unless ``name`` is imported already.

    TensorFlow imports Keras, whose scikit-learn wrappers (which the workbook does not use) import
    scikit-learn and SciPy if they are installed: 0.8 s of every kernel's start. Afterwards the
    module imports as usual (Chapter 9's metrics); only ``keras.wrappers`` then says it is missing.
    """
    if name in sys.modules:
        yield
        return
    sys.modules[name] = None
    try:
        yield
    finally:
        if sys.modules.get(name, "") is None:
            del sys.modules[name]


def quiet() -> None:
    """Import TensorFlow without its start-up logs; show Python warnings on stdout.

    ``TF_CPP_MIN_LOG_LEVEL`` silences TensorFlow's C++ logs once it runs, but
    absl prints a few lines at import before reading it, hence the redirect.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    warnings.showwarning = _warning_to_stdout
    if "tensorflow" not in sys.modules:
        with _stderr_fd_silenced(), _not_importable("sklearn"):
            import tensorflow  # noqa: F401
    # After the import, which sets up TensorFlow's logger (retracing notices and the like).
    for name in ("absl", "tensorflow", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and Keras, and make TensorFlow's ops deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def build_optimizer_before_fit() -> None:
    """Make every ``Model.fit`` (and ``train_on_batch``) build the model's optimizer before it
    traces the training step.

    Keras 3 on TensorFlow, with no distribution strategy, lets the optimizer create its
    variables inside the first trace of the training step, and ``tf.function`` then traces
    the step a second time (a trace that created variables cannot be reused). Built first,
    as Keras itself does under a strategy, each model's step is traced once: a model's first
    ``fit`` starts about twice as fast. The optimizer's variables and the training are the same.
    """
    import keras

    for name in ("fit", "train_on_batch"):
        train = getattr(keras.Model, name)
        if not getattr(train, "builds_optimizer_first", False):
            setattr(keras.Model, name, with_built_optimizer(train))


def with_built_optimizer(train):
    """``train`` (``Model.fit`` or ``Model.train_on_batch``), building the optimizer first when it can."""

    @functools.wraps(train)
    def train_with_built_optimizer(model, *args, **kwargs):
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not optimizer.built and has_all_its_variables(model):
            optimizer.build(model.trainable_variables)
        return train(model, *args, **kwargs)

    train_with_built_optimizer.builds_optimizer_first = True
    return train_with_built_optimizer


def has_all_its_variables(model) -> bool:
    """Whether every variable ``model`` trains exists already: a built model, or a subclassed one
    (``BetaVAE(encoder, decoder)``) with no ``build`` of its own whose layers are all built, which
    Keras leaves unbuilt until its first step."""
    if model.built:
        return True
    builds_its_own = not getattr(type(model).build, "_is_default", False)
    return not builds_its_own and all(layer.built for layer in model._flatten_layers(include_self=False))


EXERCISE_STUB = "raise NotImplementedError()"  # what nbgrader leaves in an unsolved answer cell


def one_line_error(etype, value, tb, user_ns) -> str | None:
    """The one line that replaces the traceback of an error an unsolved exercise caused, or None.

    * ``NotImplementedError`` raised by an exercise's stub (a function defined in the notebook);
    * ``NameError`` in the running cell's own code: a name a failed or skipped cell should have defined.

    Any other error, a ``NameError`` inside a student's own function (a typo there) for one, keeps
    its traceback, which the student needs.
    """
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    in_notebook = [frame for frame in frames if frame.f_globals is user_ns]  # the cell and what cells defined
    if not in_notebook:
        return None
    innermost, cell = frames[-1], in_notebook[0]
    if (etype is NotImplementedError and innermost.f_globals is user_ns
            and linecache.getline(innermost.f_code.co_filename, innermost.f_lineno).strip() == EXERCISE_STUB):
        return (f"NotImplementedError: `{innermost.f_code.co_qualname}` is an exercise not solved yet: "
                f"replace `{EXERCISE_STUB}` with your code")
    if etype is NameError and innermost.f_code.co_filename == cell.f_code.co_filename:
        return (f"NameError: name '{value.name}' is not defined — an earlier cell that defines it failed or has "
                "not run; is an exercise above still unsolved? Solve it, then run the cells from there again.")
    return None


def _show_error(shell, etype, value, tb, tb_offset=None):
    """IPython's custom exception handler: :func:`one_line_error`'s line, or the usual traceback.

    Either way the cell ends in error with the same ``ename`` and ``evalue`` (the kernel's
    ``error`` message), so *Run All* still stops there.
    """
    line = one_line_error(etype, value, tb, shell.user_ns)
    if line is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return None
    shell._get_exc_info((etype, value, tb))  # stores it in sys.last_*, where %tb and %debug look
    shell._showtraceback(etype, value, [line])  # what showtraceback does with a traceback it made
    return [line]


def _ipython():
    """The IPython shell running this code, or None (IPython is not imported outside one)."""
    return sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None


def short_errors() -> bool:
    """Install :func:`_show_error` in the IPython shell running this notebook; True if installed.

    Not under nbgrader (``NBGRADER_EXECUTION``: autograde and validate), whose outputs, feedback
    and guard expect IPython's own tracebacks, and not outside IPython.
    """
    shell = _ipython()
    if shell is None or os.environ.get("NBGRADER_EXECUTION"):
        return False
    shell.set_custom_exc((NameError, NotImplementedError), _show_error)
    return True


def exit_without_teardown() -> bool:
    """In an IPython kernel, end the process as soon as the exit handlers have run; True if set up.

    With TensorFlow loaded, the interpreter's own teardown (freeing every module, graph and traced
    function) takes one to three seconds of every notebook run and every graded submission, and a
    kernel that is shutting down has nothing left that needs it. Outside a kernel (a script, whose
    exit status matters) nothing changes.
    """
    shell = _ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    atexit.unregister(_exit_now)
    atexit.register(_exit_now)  # the last registered runs first
    return True


def _exit_now() -> None:
    atexit.unregister(_exit_now)
    atexit._run_exitfuncs()  # every other handler, as a normal exit would run them
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def start(seed: int = 42) -> Profile:
    """Set up a notebook: quiet logs, seeded randomness, the active profile, short errors for
    unsolved exercises (:func:`short_errors`), a single trace of each model's training step
    (:func:`build_optimizer_before_fit`), the profile's use of TensorFlow's graph optimiser and, in a
    kernel, a quick exit (:func:`exit_without_teardown`).

    Returns the profile, which tells how much data and how many epochs to use.
    """
    quiet()
    short_errors()
    exit_without_teardown()
    import keras
    import tensorflow as tf

    seed_everything(seed)
    build_optimizer_before_fit()
    profile = current_profile()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": not profile.graph_optimiser})
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}; profile '{profile.name}', seed {seed}")
    return profile
