"""Runs inside the grading kernel: undo an answer's tampering with the testing machinery.

The grader calls :func:`snapshot` once, after the read-only set-up cell and before any student code,
and :func:`restore` before every graded test cell. ``restore`` puts back what an answer cell may have
replaced to make failing tests pass: functions of NumPy (``numpy.testing``'s assertions,
``np.allclose``, ``np.isclose``, ...), of Keras, of the workbook's package and of ``builtins``; the
IPython shell's and kernel's methods (``showtraceback``, ``run_cell``, ``do_execute``, ...), its
custom exception handler (``set_custom_exc``), input and AST transformers and event callbacks; and
``sys.excepthook``, ``sys.stdout``, ``sys.stderr``; and the functions and methods of the kernel's messaging
(``jupyter_client``'s ``Session``, ``ipykernel``, ``zmq``, ``tornado``), through which every error and reply
reaches the grader. It returns what it put back, for the grader's notes.

:func:`keep` and :func:`recall` hold each test cell's namespace for its hidden tests, which the grader runs
after the notebook's last cell (:mod:`.execute`).

This is a guard against known tricks, not a security boundary: code in the same process can always
reach the guard itself. The sandbox bounds what such code can do to the student's own grade, and the
grader notes everything the guard put back, so that an instructor can take a look.
"""

from __future__ import annotations

import sys

# The kernel's messaging too: a Session.send replaced to drop errors and report failed tests as passed got a
# blank notebook full marks (the canaries, told apart by their text, were let through).
GUARDED_MODULE_PREFIXES = ("numpy", "keras", "aeworkbook", "jupyter_client", "ipykernel", "zmq", "tornado", "comm")
GUARDED_MODULES = ("builtins", "math", "operator", "functools")
SHELL_TRAITS = ("input_transformer_manager", "compile", "display_pub", "displayhook", "display_trap",
                "builtin_trap", "events")  # objects the shell runs cells through
SHELL_LISTS = ("input_transformers_post", "ast_transformers")  # transformers applied to every cell
MANAGER_LISTS = ("cleanup_transforms", "line_transforms", "token_transformers")
SHELL_ATTRIBUTES = ("custom_exceptions", "CustomTB", "InteractiveTB", "SyntaxTB")
SYS_ATTRIBUTES = ("excepthook", "displayhook", "stdout", "stderr")

_saved: dict | None = None


def _guarded_modules() -> list:
    return [module for name, module in list(sys.modules.items())
            if module is not None and (name in GUARDED_MODULES or name.split(".")[0] in GUARDED_MODULE_PREFIXES)]


def _classes_of(modules) -> set:
    """Classes defined in the guarded modules: a method replaced on a class is put back too."""
    found = set()
    for module in modules:
        for value in list(vars(module).values()):
            if isinstance(value, type) and getattr(value, "__module__", "").split(".")[0] in GUARDED_MODULE_PREFIXES:
                found.add(value)
    return found


def _shell_and_kernel():
    from IPython import get_ipython

    shell = get_ipython()
    return shell, getattr(shell, "kernel", None)


def snapshot() -> None:
    """Remember the genuine objects. Called once, before any student code runs."""
    global _saved
    import numpy.testing  # noqa: F401  (NumPy imports it lazily; tests use it, so guard it)

    shell, kernel = _shell_and_kernel()
    modules = _guarded_modules()
    owners = [*modules, *_classes_of(modules)]
    for obj in (shell, kernel):
        owners += [cls for cls in type(obj).__mro__ if cls is not object]
    _saved = {
        "namespaces": [(owner, {n: v for n, v in vars(owner).items() if _is_code(v)}) for owner in owners],
        "types": [(shell, type(shell)), (kernel, type(kernel))],
        "instances": [(obj, {name: obj.__dict__[name] for name in vars(obj) if callable(obj.__dict__[name])})
                      for obj in (shell, kernel)],
        "shell": {name: getattr(shell, name, None) for name in SHELL_ATTRIBUTES},
        "shell_has": {name for name in SHELL_ATTRIBUTES if name in vars(shell)},
        "traits": {name: getattr(shell, name) for name in SHELL_TRAITS if hasattr(shell, name)},
        "lists": [(owner, name, getattr(owner, name), list(getattr(owner, name)))
                  for owner, names in ((shell, SHELL_LISTS), (shell.input_transformer_manager, MANAGER_LISTS))
                  for name in names if hasattr(owner, name)],
        "events": {name: list(callbacks) for name, callbacks in shell.events.callbacks.items()},
        "sys": {name: getattr(sys, name) for name in SYS_ATTRIBUTES},
        "handlers": dict(getattr(kernel, "shell_handlers", {})),
    }


def restore() -> list[str]:
    """Put back everything :func:`snapshot` saw; return a description of each thing that had changed."""
    if _saved is None:
        raise RuntimeError("the grader's guard has no snapshot")
    changed = []
    for obj, genuine in _saved["types"]:
        if obj is not None and type(obj) is not genuine:
            obj.__class__ = genuine
            changed.append(f"the class of {genuine.__name__}")
    for owner, genuine in _saved["namespaces"]:
        current = vars(owner)
        name_of = getattr(owner, "__name__", repr(owner))
        for name, value in genuine.items():
            if _is_code(value) and current.get(name, _MISSING) is not value:
                _put_back(owner, name, value)
                changed.append(f"{name_of}.{name}")
        if isinstance(owner, type):  # a method added to a subclass shadows the genuine one of a base
            for name in [n for n in current if n not in genuine and _is_code(current[n])
                         and any(n in vars(base) for base in owner.__mro__[1:])]:
                delattr(owner, name)
                changed.append(f"{name_of}.{name} (added)")
    for obj, methods in _saved["instances"]:
        if obj is None:
            continue
        for name in [n for n in vars(obj) if callable(vars(obj)[n]) and n not in methods and hasattr(type(obj), n)]:
            del obj.__dict__[name]  # an instance attribute shadowing a method: the method again
            changed.append(f"{type(obj).__name__}.{name} (on the instance)")
        for name, value in methods.items():
            if obj.__dict__.get(name, _MISSING) is not value:
                obj.__dict__[name] = value
                changed.append(f"{type(obj).__name__}.{name}")
    shell, kernel = _shell_and_kernel()
    for name, value in _saved["shell"].items():
        if name in _saved["shell_has"]:
            if vars(shell).get(name, _MISSING) is not value:
                setattr(shell, name, value)
                changed.append(f"the shell's {name}")
        elif name in vars(shell):
            delattr(shell, name)
            changed.append(f"the shell's {name}")
    for name, genuine in _saved["traits"].items():
        if getattr(shell, name) is not genuine:
            setattr(shell, name, genuine)
            changed.append(f"the shell's {name}")
    for owner, name, genuine, items in _saved["lists"]:
        if getattr(owner, name) is not genuine or genuine != items:
            genuine[:] = items
            setattr(owner, name, genuine)
            changed.append(f"the shell's {name}")
    for name, callbacks in _saved["events"].items():
        current = shell.events.callbacks.get(name, [])
        # Libraries register callbacks as they are used (matplotlib's inline backend): keep those.
        kept = callbacks + [c for c in current if c not in callbacks and _from_a_library(c)]
        if current != kept:
            shell.events.callbacks[name] = kept
            changed.append(f"the shell's {name} callbacks")
    for name, value in _saved["sys"].items():
        if getattr(sys, name) is not value:
            setattr(sys, name, value)
            changed.append(f"sys.{name}")
    handlers = getattr(kernel, "shell_handlers", None)
    if handlers is not None and handlers != _saved["handlers"]:
        handlers.clear()
        handlers.update(_saved["handlers"])
        changed.append("the kernel's message handlers")
    return changed


_MISSING = object()


def _from_a_library(function) -> bool:
    module = getattr(function, "__module__", None) or "__main__"
    return module != "__main__" and module in sys.modules


def _is_code(value) -> bool:
    """Functions, methods, classes and descriptors: what a trick replaces. Plain values (settings,
    counters, caches) are state that notebooks change legitimately, and are left alone."""
    return callable(value) or isinstance(value, (property, classmethod, staticmethod))


def _put_back(owner, name: str, value) -> None:
    if isinstance(owner, type):
        type.__setattr__(owner, name, value)
    else:
        vars(owner)[name] = value


# -- the namespace each test cell's hidden tests run in -------------------------------------------------------------

_kept: dict = {}


def keep(key) -> None:
    """Remember the notebook's namespace as a test cell's visible part left it: its hidden tests, run after
    the last cell, see the same names (the cell's own helpers, not what later cells bound to those names)."""
    shell, _ = _shell_and_kernel()
    _kept[key] = dict(shell.user_ns)


def recall(key) -> None:
    """Put back the namespace :func:`keep` saw under ``key``."""
    namespace = _shell_and_kernel()[0].user_ns
    namespace.clear()
    namespace.update(_kept[key])
