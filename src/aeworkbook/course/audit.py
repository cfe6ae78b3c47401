"""Read a submission's own code for reaches into the grading machinery (issue 21), in the grader's process.

Everything that runs in the grading kernel can be replaced by the student's code in it: the guard, the
test cells' names, NumPy's assertions, IPython's compiler, the interpreter's hooks. What cannot be
changed at grading time is the code the student handed in. :func:`audit_notebook` parses every code
cell a student could write (answer cells, the editable demo cells, cells they added; not the read-only
cells, which nbgrader puts back) with ``ast``, after IPython's own transformer has turned magics into
Python, and flags, with cell and line, code that reaches for what an answer never needs:

- modules of the interpreter, the kernel and the grader (``sys``, ``gc``, ``builtins``, ``ctypes``,
  ``inspect``, ``importlib``, ``IPython``, ``ipykernel``, ...), and names that reach the same places
  (``get_ipython``, ``In``, ``_ih``, ``exec``, ``eval``, ``__import__``, ``globals``, ``setattr``, ...);
- double-underscore attributes (``__code__``, ``__globals__``, ``__class__``, ``__dict__``, ...) other
  than the few that Keras code needs (``__init__``), and frame and interpreter-hook attributes;
- assignments onto imported libraries and their classes (``np.testing.assert_allclose = ...``), through
  aliases too, and rebinding at top level a name the read-only set-up defines (``np``, ``keras``) or a
  builtin (``isinstance``);
- code above the read-only set-up cell, which runs before the grader's guard takes its snapshot.

A flag is a reason for an instructor to read the cell, not a verdict: the grader notes it, marks the
submission as flagged in the gradebook, and the flags reach the summary, the CSV, ``report.md`` and the
student's feedback. No correct answer in the workbook is flagged (``tests/test_audit.py``).
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
from dataclasses import dataclass

from .catalogue import nbgrader_meta

# Modules no answer needs: the interpreter's and the kernel's machinery, and the grader's own.
MODULES = {"sys", "gc", "builtins", "ctypes", "_ctypes", "cffi", "signal", "inspect", "importlib", "IPython",
           "ipykernel", "jupyter_client", "traitlets", "zmq", "tornado", "nbclient", "nbgrader", "linecache",
           "threading", "_thread", "types", "sqlite3", "atexit", "faulthandler", "tracemalloc", "dis", "code",
           "codeop", "marshal", "runpy", "pdb", "bdb", "trace", "weakref", "unittest", "mock", "pytest",
           "aeworkbook.course", "_testcapi", "sysconfig", "site", "posix", "os", "subprocess", "shutil", "pathlib",
           "glob", "io", "tempfile", "pickle", "copyreg", "asyncio", "multiprocessing", "concurrent", "pkgutil", "imp",
           "zipimport", "matplotlib_inline", "comm", "ipywidgets", "debugpy", "jupyter_core", "jupyter_server"}
ALLOWED_MODULES = {"IPython.display"}  # display() and friends: output only
# Names that reach the shell, the namespace or run code built from strings.
NAMES = {"get_ipython", "In", "Out", "_ih", "_oh", "_dh", "_i", "_ii", "_iii", "_", "__", "___", "exec", "eval",
         "compile", "__import__", "globals", "locals", "vars", "setattr", "delattr", "breakpoint", "open",
         "memoryview", "display_formatter", "exit", "quit"}
NUMBERED = re.compile(r"^_(i|ii|iii|oh|ih)?\d+$")  # _i3, _12: IPython's numbered input and output variables
ALLOWED_DUNDERS = {"__init__", "__name__", "__doc__", "__call__", "__version__"}
# Attributes of frames, tracebacks, code objects and the shell: the ways from a value to the machinery.
ATTRIBUTES = {"tb_frame", "tb_next", "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "f_trace", "gi_frame",
              "ag_frame", "cr_frame", "co_code", "settrace", "setprofile", "monitoring", "_getframe", "modules",
              "get_objects", "get_referrers", "get_referents", "user_ns", "user_global_ns", "user_module", "shell",
              "events", "do_execute", "run_cell", "run_cell_async", "showtraceback", "set_custom_exc",
              "input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
              "ast_transformers", "displayhook", "display_formatter", "display_pub", "excepthook", "shell_handlers",
              "history_manager", "formatters", "for_type", "for_type_by_name", "register_transformer", "ctypeslib",
              # the shell from any module that imported it (matplotlib_inline's backend did), and the kernel's
              # messaging: a Session.send patched to drop errors and turn failed replies into passes
              "get_ipython", "session", "iopub_socket", "iopub_thread", "shell_stream", "control_stream",
              "comm_manager", "send_multipart"}
CLASS_OF = {"type", "super"}  # type(model).count_params = ...: an assignment onto a library's class
NAMING = {"attrgetter", "methodcaller"}  # operator's getattr: flagged, like getattr, with a computed name
MAGICS = {"matplotlib": False, "time": True, "timeit": True}  # magics an answer may use; True: its text is code
BUILTINS = set(dir(builtins))
UNSAFE = re.compile(r"[^\w .,:;'()\[\]=-]")


@dataclass(frozen=True)
class Flag:
    cell: int  # 1-based, among all the notebook's cells
    line: int  # 1-based, in the cell's source as the student wrote it
    what: str
    grade_id: str = ""

    def __str__(self) -> str:
        where = f"cell {self.cell}" + (f" ({self.grade_id})" if self.grade_id else "")
        return UNSAFE.sub("?", f"{where}, line {self.line}: {self.what}")  # shown as markup: plain characters only


def audit_notebook(nb) -> list[Flag]:
    """Flag every reach into the grading machinery in the code cells a student could write."""
    code = [(index, cell) for index, cell in enumerate(nb.cells, start=1) if cell.cell_type == "code"]
    locked = [(index, cell) for index, cell in code if nbgrader_meta(cell).get("locked")]
    defined = frozenset(BUILTINS.union(*(_facts(cell.source)[1] for _, cell in locked
                                         if not nbgrader_meta(cell).get("grade"))))
    imported = set().union(*(_facts(cell.source)[2] for _, cell in code))
    for _, cell in code:  # aliases: t = np.testing
        imported |= {name for root, names in _facts(cell.source)[3] if root in imported for name in names}
    imported = frozenset(imported)
    first_locked = locked[0][0] if locked else 0
    flags = []
    for index, cell in code:
        if nbgrader_meta(cell).get("locked"):
            continue
        grade_id = nbgrader_meta(cell).get("grade_id", "")
        if index < first_locked and cell.source.strip():
            flags.append(Flag(index, 1, "code above the read-only set-up cell (it runs before the grader's guard)",
                              grade_id))
        flags += [Flag(index, line, what, grade_id) for line, what in audit_source(cell.source, defined, imported)]
    return flags


@functools.lru_cache(maxsize=4096)  # a class's notebooks share most cells
def audit_source(source: str, protected=frozenset(), imported=frozenset()) -> tuple[tuple[int, str], ...]:
    """(line, what) for each reach in one cell. ``protected``: names not to rebind at top level;
    ``imported``: names bound to libraries (imports, aliases), whose attributes must not be assigned."""
    tree, _, imports, aliases = _facts(source)
    if tree is None:  # a syntax error fails the cell by itself; nothing of it runs
        return ()
    known = set(imported) | imports
    known |= {name for root, names in aliases if root in known for name in names}
    auditor = Auditor(set(protected), known, _bound_to_classes(tree), _functions(tree))
    auditor.visit(tree)
    return tuple(sorted(set(auditor.found)))


@functools.lru_cache(maxsize=4096)  # the auditor never changes a tree
def _facts(source: str):
    """The cell as Python (as it is, or as IPython runs it: magics, ``!`` and ``?`` make plain Python fail),
    the names it binds at top level, the names its imports bind, and its plain aliases (root, [names])."""
    from IPython.core.inputtransformer2 import TransformerManager

    tree = None
    for text in (lambda: source, lambda: TransformerManager().transform_cell(source)):
        try:
            tree = ast.parse(text())
            break
        except (SyntaxError, ValueError):
            continue
    if tree is None:
        return None, frozenset(), frozenset(), ()
    imports, aliases = set(), []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Assign) and _is_chain(node.value) and _root(node.value):
            aliases.append((_root(node.value), [t.id for t in node.targets if isinstance(t, ast.Name)]))
    return tree, frozenset(top_level_names(tree)), frozenset(imports), tuple(aliases)


def top_level_names(tree: ast.Module) -> set[str]:
    """Names a cell binds in the notebook's namespace (outside functions and classes)."""
    return {name for statement in tree.body for name, _ in _bound_at_top(statement)}


def _bound_at_top(node):
    """(name, line) for each name bound by a statement at module level, through if/for/with/try blocks."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name, node.lineno
        return
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            yield (alias.asname or alias.name).split(".")[0], node.lineno
        return
    targets = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = node.targets
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
    for target in targets:
        for name in ast.walk(target):
            if isinstance(name, ast.Name) and isinstance(name.ctx, (ast.Store, ast.Del)):
                yield name.id, name.lineno
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt) or isinstance(child, ast.ExceptHandler):
            if isinstance(child, ast.ExceptHandler):
                if child.name:
                    yield child.name, child.lineno
                for statement in child.body:
                    yield from _bound_at_top(statement)
            else:
                yield from _bound_at_top(child)
    for walrus in (n for n in ast.walk(node) if isinstance(n, ast.NamedExpr)):
        yield walrus.target.id, walrus.lineno


def _bound_to_classes(tree) -> set[str]:
    """Names bound to ``type(...)`` or ``super(...)``: ``S = type(obj); S.send = ...`` patches obj's class."""
    return {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id in CLASS_OF
            for target in node.targets if isinstance(target, ast.Name)}


def _functions(tree) -> set[str]:
    """Names of the functions the cell defines, at any depth."""
    return {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _root(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__") and len(name) > 4


def _dotted(node) -> str:
    """``np.testing.assert_allclose``, ``sys.modules[...]``: the target's names, without the student's values."""
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Subscript):
        return f"{_dotted(node.value)}[...]"
    if isinstance(node, ast.Call):
        return f"{_dotted(node.func)}(...)"
    return node.id if isinstance(node, ast.Name) else "..."


def _is_chain(node) -> bool:
    """A name or a chain of attributes (``np.testing``): an alias, not a new object."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _within(name: str, modules) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


def _module_flagged(name: str) -> bool:
    return _within(name, MODULES) and not _within(name, ALLOWED_MODULES)


class Auditor(ast.NodeVisitor):
    def __init__(self, protected: set[str], imported: set[str], classes=frozenset(), functions=frozenset()):
        self.protected, self.imported, self.classes, self.functions = protected, imported, classes, functions
        self.found: list[tuple[int, str]] = []
        self._called: set[int] = set()  # the Name nodes that are a call's function

    def flag(self, node, what: str) -> None:
        self.found.append((node.lineno, what))

    def visit_Module(self, node):
        for statement in node.body:
            for name, line in _bound_at_top(statement):
                if name in self.protected:
                    kind = "a builtin" if name in BUILTINS else "a name the read-only set-up defines"
                    self.found.append((line, f"rebinds {name!r}, {kind}"))
        self.generic_visit(node)

    def visit_Import(self, node):
        for alias in node.names:
            if _module_flagged(alias.name):
                self.flag(node, f"imports {alias.name}")
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if any(_module_flagged(f"{module}.{alias.name}") for alias in node.names):
            self.flag(node, f"imports from {module}")
        self.generic_visit(node)

    def visit_Global(self, node):
        for name in node.names:
            if name in self.protected:
                self.flag(node, f"rebinds {name!r} through a global statement")

    def visit_Name(self, node):
        if not isinstance(node.ctx, ast.Load):
            return  # rebinding is checked at top level (visit_Module)
        if node.id in NAMES or NUMBERED.match(node.id):
            self.flag(node, f"uses {node.id}")
        elif node.id in {"getattr", *NAMING} and id(node) not in self._called:
            self.flag(node, f"uses {node.id} as a value")  # g = getattr; g(obj, computed): getattr unseen
        elif _is_dunder(node.id) and node.id not in ALLOWED_DUNDERS:
            self.flag(node, f"uses {node.id}")

    def visit_Attribute(self, node):
        name = node.attr
        if _is_dunder(name) and name not in ALLOWED_DUNDERS:
            self.flag(node, f"reaches .{name}")
        elif name in ATTRIBUTES:
            self.flag(node, f"reaches .{name}")
        if isinstance(node.ctx, (ast.Store, ast.Del)) and _root(node) in self.imported | CLASS_OF:
            self.flag(node, f"assigns onto a library: {_dotted(node)}")
        elif isinstance(node.ctx, (ast.Store, ast.Del)) and _root(node) in self.classes:
            self.flag(node, f"assigns onto a class: {_dotted(node)}")
        self.generic_visit(node)

    def visit_Assign(self, node):
        """``obj.method = function``: a function or lambda put onto an object the cell did not make (not ``self``):
        how an answer replaces the machinery's methods, whatever the object's name."""
        value = node.value
        patch = isinstance(value, ast.Lambda) or isinstance(value, ast.Name) and value.id in self.functions
        for target in node.targets:
            if patch and isinstance(target, ast.Attribute) and _root(target) not in ("self", "cls", None):
                self.flag(target, f"puts a function onto an object: {_dotted(target)}")
        self.generic_visit(node)

    def visit_Constant(self, node):
        """A dunder or frame attribute's name as a string: operator.attrgetter("__code__") and the like."""
        text = node.value
        if isinstance(text, str) and any(part in ATTRIBUTES or _is_dunder(part) and part not in ALLOWED_DUNDERS
                                         for part in text.split(".")):  # attrgetter("f.__globals__") too
            self.flag(node, f"names .{text}" if text.isidentifier() else "names an attribute")

    def visit_Subscript(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)) and _root(node) in self.imported:
            self.flag(node, f"assigns into a library: {_dotted(node)}")
        self.generic_visit(node)

    def visit_Call(self, node):
        function = node.func
        self._called.add(id(function))
        if isinstance(function, ast.Name) and function.id == "getattr" and len(node.args) >= 2:
            name = node.args[1]  # a constant one is checked as a string (visit_Constant)
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                self.flag(node, "getattr with a computed name")
        called = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
        names = node.args if called == "attrgetter" else node.args[:1]
        if called in NAMING and not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in names):
            self.flag(node, f"{called} with a computed name")
        if self._is_magic(node):
            magic, *texts = (arg.value for arg in node.args)
            if str(magic).lstrip("%") in MAGICS:
                if MAGICS[str(magic).lstrip("%")]:
                    for text in texts:
                        for line, what in audit_source(_magic_code(str(text)), frozenset(self.protected),
                                                           frozenset(self.imported)):
                            self.found.append((node.lineno + line - 1, what))
                return
        self.generic_visit(node)

    @staticmethod
    def _is_magic(node) -> bool:
        """``get_ipython().run_line_magic(...)`` or ``run_cell_magic``, as IPython writes a magic."""
        function = node.func
        return (isinstance(function, ast.Attribute) and function.attr in ("run_line_magic", "run_cell_magic")
                and isinstance(function.value, ast.Call) and isinstance(function.value.func, ast.Name)
                and function.value.func.id == "get_ipython" and not function.value.args and 2 <= len(node.args) <= 3
                and all(isinstance(arg, ast.Constant) for arg in node.args))


def _magic_code(text: str) -> str:
    """The code a %time or %timeit line runs, without the magic's options (``-n 3 -r 1``)."""
    return re.sub(r"^\s*(-\w+(\s+\d+)?\s+)*", "", text)
