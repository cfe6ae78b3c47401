"""How the grader executes a notebook: nbgrader's ``Execute``, hardened for untrusted code.

``GraderExecute`` replaces ``Execute`` in nbgrader's autograde steps (see :mod:`.nbconfig`); ``validate``
and the wrong-answer checks use it too, so every path scores a notebook the same way. On top of
nbgrader's own execution it

- starts the kernel in the bubblewrap sandbox (:mod:`.sandbox`) when ``sandbox`` is on;
- audits the code a student could write before anything runs (:mod:`.audit`): reaches into the grading
  machinery are flagged, with cell and line, in the notebook's metadata and in a cell at its top;
- runs the guard (:mod:`.guard`) before every graded test cell, so that an answer that replaced
  ``numpy.testing`` or silenced IPython's tracebacks earns nothing from it;
- runs each test cell's visible part in its place, and its hidden tests (unless the visible part failed,
  which scores 0 already) only after the last cell, silently
  and out of the history (so that no student cell ever runs after them: nothing a student's code records
  of them can reach an output); a hidden failure becomes the test cell's error, with its type and, only
  when it is a message written in the hidden tests, its message. Checks that must fail (canaries) are
  run among them: if the kernel reports one as passed, its machinery was tampered with, and every test
  of the notebook scores 0, flagged;
- keeps at most ``output_limit`` bytes of output per notebook: the head is kept, and a line says
  how much was cut (errors and a trace of stderr are always kept, since they decide scores);
- puts a test cell's errors before its other outputs: nbgrader scores the first execute_result it
  meets as partial credit, and an answer can publish one (``get_ipython().displayhook(2.0)``);
- survives a dead kernel: the cells that ran keep their results, and every test cell that did not
  run gets an error, so it scores 0 instead of nbgrader's full marks for a test without output;
- stops the kernel, as if it had died, when it sends a message over the grader's limit (refused unread, see
  :class:`.sandbox.BoundedChannel`): the grader can hear nothing more from it;
- stops the kernel (so the class goes on) when a timed-out cell ignores the interrupt for ``grace``
  seconds (a SIGINT handler ignored, a loop in C), and when the whole notebook runs past
  ``notebook_timeout``: the cells before keep what they earned.
"""

from __future__ import annotations

import ast
import builtins
import copy
import json
import re
import secrets
import signal
from queue import Empty
from time import monotonic

from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from .audit import UNSAFE, audit_notebook
from .catalogue import nbgrader_meta
from .sandbox import Limits, MessageRefused

# Evaluated as user expressions of an empty request: no cell code runs, so no input transformer or
# cell hook of the student's sees them, and the reply carries the guard's own answer.
SNAPSHOT = "__import__('importlib').import_module('aeworkbook.course.guard').snapshot()"
RESTORE = "__import__('sys').modules['aeworkbook.course.guard'].restore()"
KEEP = "__import__('importlib').import_module('aeworkbook.course.guard').keep(%d)"
RECALL = "__import__('importlib').import_module('aeworkbook.course.guard').recall(%d)"
# Checks that must fail, each with its own message: a kernel that reports one as passed was tampered with.
CANARIES = ("assert False, {nonce!r}",
            "import numpy.testing\nnumpy.testing.assert_allclose([0.0], [1.0], err_msg={nonce!r})",
            "assert isinstance(1, str), {nonce!r}")
TAMPERED = ("the kernel reported a check that must fail as passed (a canary): its machinery was tampered with, "
            "and every test of this notebook scores 0")
MESSAGE_SEARCHED = 2000  # characters of a hidden failure's message searched for the test's own messages
NOTICE = "aeworkbook_notice"  # the metadata key of the grader's notice cell atop a flagged notebook
CUT = "\n[output cut:"
STDERR_KEPT = 200  # characters of a stderr stream kept past the output limit: its presence scores 0
ERROR_KEPT = 2000  # characters of an error's message, and of each of its last traceback lines, kept past the limit

# The settings a second run of a notebook (after its kernel died) takes from the first.
REPLAYED = ("timeout", "sandbox", "guard", "hidden_last", "output_limit", "kernel_name", "iopub_timeout")


def split_hidden(source: str) -> tuple[str, str]:
    """A test cell's visible part (hidden regions blanked, so that line numbers stay) and its hidden tests."""
    from .feedback import HIDDEN  # feedback imports this module

    hidden = "".join(match.group() + "\n" for match in HIDDEN.finditer(source))
    return HIDDEN.sub(lambda match: "\n" * match.group().count("\n"), source), hidden


def hidden_failure(content: dict, source: str) -> dict:
    """The error output of a failed hidden test: its type when a builtin's, and its message only when it
    is one written in the test cell's ``source``, an f-string's values left out (they may be the hidden
    test's cases); never what the student's code raised."""
    ename = content.get("ename") or "Error"
    ename = ename if isinstance(getattr(builtins, ename, None), type) else "Error"
    evalue = str(content.get("evalue", ""))[:MESSAGE_SEARCHED]
    message = max((shown for pattern, shown in messages(source) if re.search(pattern, evalue)), key=len, default="")
    evalue = f"{message} (in the hidden tests)" if message else "(in the hidden tests)"
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def messages(source: str) -> list[tuple[str, str]]:
    """(pattern, what to show) for each message a test cell can fail with: its strings (of ten characters
    or more, with a space), and its f-strings with "…" for each value."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    parts = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            found.append((re.escape(node.value), node.value))
        elif isinstance(node, ast.JoinedStr):
            pieces = [part.value if isinstance(part, ast.Constant) else None for part in node.values]
            found.append(("".join(".*?" if p is None else re.escape(p) for p in pieces),
                          "".join("…" if p is None else p for p in pieces)))
    return [(pattern, shown) for pattern, shown in found if len(shown.replace("…", "")) >= 10 and " " in shown]


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def scores_zero(output) -> bool:
    """An output that makes nbgrader score a test cell 0: an error, or anything on stderr."""
    return output.output_type == "error" or (output.output_type == "stream" and output.get("name") == "stderr")


class GuardFailed(Exception):
    """The guard could not run before a test cell: the kernel's execution machinery was replaced."""


class GraderExecute(Execute):
    sandbox = Bool(False, help="run the kernel in the bubblewrap sandbox").tag(config=True)
    guard = Bool(True, help="restore the testing machinery before each graded test cell").tag(config=True)
    audit = Bool(True, help="flag code that reaches into the grading machinery").tag(config=True)
    hidden_last = Bool(True, help="run the hidden tests after the last cell, out of every cell's reach").tag(
        config=True)
    output_limit = Integer(1_000_000, help="bytes of cell output kept per notebook").tag(config=True)
    # Output still arriving after a cell's reply (a flood draining) must not fail the whole notebook.
    iopub_timeout = Integer(30).tag(config=True)
    raise_on_iopub_timeout = Bool(False).tag(config=True)
    grace = Integer(30, help="seconds a timed-out cell has to answer the interrupt before its kernel is "
                    "stopped").tag(config=True)
    notebook_timeout = Integer(Limits.notebook_timeout, help="seconds the whole notebook may run").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.sandbox:
            from .sandbox import SandboxedKernelManager

            self.kernel_manager_class = SandboxedKernelManager
        self.reset()

    def reset(self) -> None:
        """Forget the last notebook: call before running cells of a new one (``preprocess`` does)."""
        self.notes: list[str] = []  # what the grader saw: tampering undone, output cut, a dead kernel
        self.died: str | None = None  # why execution stopped early, when the kernel died
        self._kept = self._cut = 0  # bytes of output kept and cut
        self._running = None  # the index of the cell being executed
        self._snapshot_taken = self._student_code_ran = False
        self._deadline = None  # when the notebook must be done: set by preprocess (cells run one by one have none)
        self._waiting_for = None  # the execute request of the cell running
        self._stopped = None  # why the grader stopped the kernel
        self._refused: MessageRefused | None = None  # a message refused on iopub while a cell ran
        self.flags: list[str] = []  # reaches into the grading machinery: the audit's, and tampering seen
        self._deferred: list = []  # (index, cell, hidden tests) of test cells whose hidden tests wait

    # -- the whole notebook ----------------------------------------------------------------------------

    def preprocess(self, nb, resources=None, km=None):
        self.reset()
        self._deadline = monotonic() + self.notebook_timeout
        if self.audit:
            self.flags = [str(flag) for flag in audit_notebook(nb)]
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except DeadKernelError as error:
            if isinstance(error, MessageRefused):  # before the first cell (kernel_info): no cell stopped it
                self._stopped = self._stopped or f"before the first cell, {error}"
            nb, resources = self.nb, self.resources
            waiting, died_at = self._deferred, self._running
            self._after_dead_kernel(nb)
            if waiting:
                self._replay(nb, resources, died_at, waiting)
        if self._cut:
            self.notes.append(f"output cut: {self._cut:,} bytes beyond the first {self.output_limit:,} not kept")
        self._record_notes(nb)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1:
            self.run_hidden_tests()
        return cell, resources

    def _replay(self, nb, resources, died_at: int, waiting: list) -> None:
        """The kernel died before the hidden tests ran: run the cells before the one that killed it again, in
        a new kernel, for the hidden tests of the test cells among them (an answer that crashes costs its
        own exercise, not the ones before it)."""
        before = copy.deepcopy(nb)
        before.cells = before.cells[:died_at]
        replay = type(self)(config=self.config, audit=False, **{name: getattr(self, name) for name in REPLAYED})
        replayed, _ = replay.preprocess(before, dict(resources))
        offset = 1 if replay.flags else 0  # the replay's own notice cell, on top
        for index, cell, _ in waiting:
            cell.outputs = replayed.cells[index + offset].outputs
        self.flags += [flag for flag in replay.flags if flag not in self.flags]
        self.notes.append(f"the hidden tests of the cells before cell {died_at + 1} ran in a second run of those "
                          "cells")

    def _after_dead_kernel(self, nb) -> None:
        index = self._running if self._running is not None else -1  # -1: before the first cell, every test fails
        where = f"in cell {index + 1}" if index >= 0 else "before the first cell"
        self.died = (self._stopped or f"the kernel died {where} (it may have run out of memory)") \
            + "; the cells after it did not run"
        self.notes.append(self.died)
        for position, cell in enumerate(nb.cells):
            if position == index or (position > index and is_test_cell(cell)):
                cell.outputs = [o for o in cell.get("outputs", []) if o.output_type != "error"] + [new_output(
                    "error", ename="DeadKernelError",
                    evalue=f"the kernel died {where}; this cell did not run to the end" if position == index
                    else f"not run: the kernel died {where}", traceback=[])]

    def _record_notes(self, nb) -> None:
        # Kept in the notebook's metadata, which the autograded copy keeps; the grading job reads it. The
        # grader's alone: a submitted one (a list made the whole notebook fail to grade, unflagged) is replaced.
        if not isinstance(nb.metadata.get("aeworkbook"), dict):
            nb.metadata["aeworkbook"] = {}
        nb.metadata["aeworkbook"]["grader_notes"] = self.notes
        # Markup-free: a flag may quote the kernel (an exception's class name), and is shown in HTML and Markdown.
        self.flags = [UNSAFE.sub("?", flag) for flag in self.flags]
        nb.metadata["aeworkbook"]["flags"] = self.flags
        if self.flags:  # at the top of the autograded copy and of the feedback: impossible to miss
            nb.cells.insert(0, new_markdown_cell(
                "**Flagged for review.** The grader found code that reaches into the grading machinery; "
                "an instructor will read these cells (numbered as handed in, without this one) before the "
                "score stands:\n\n" + "\n".join(f"- `{flag}`" for flag in self.flags),
                metadata={NOTICE: True}))

    # -- one cell --------------------------------------------------------------------------------------

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        self._running = cell_index
        try:
            return await self._execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError as error:
            refused = error if isinstance(error, MessageRefused) else self._refused
            if refused is None:
                raise
            # Its channel is closed for good: no later output or reply could be heard. Stop it as a crash.
            self._stopped = f"cell {cell_index + 1}: {refused}; its kernel was stopped"
            await ensure_async(self.km.signal_kernel(signal.SIGKILL))
            raise DeadKernelError(self._stopped) from None

    async def _execute_cell(self, cell, cell_index, execution_count, store_history):
        guarded = self.guard and cell.cell_type == "code"
        test, locked = is_test_cell(cell), bool(nbgrader_meta(cell).get("locked"))
        if guarded and (test or not locked):
            if not self._snapshot_taken:  # no read-only set-up cell came first: snapshot before this one
                await self._run_quietly(SNAPSHOT)
                self._snapshot_taken = True
            self._student_code_ran = self._student_code_ran or not locked
            if test:
                try:
                    restored = await self._run_quietly(RESTORE)
                except GuardFailed as failure:
                    cell.outputs = [new_output("error", ename="GuardFailed", evalue=str(failure), traceback=[])]
                    self.flags.append(f"cell {cell_index + 1}: {failure}")
                    return cell
                if restored:
                    self.notes.append(f"before cell {cell_index + 1}, put back what an answer replaced: "
                                      + ", ".join(restored[:8]) + (" ..." if len(restored) > 8 else ""))
        visible, hidden = split_hidden(cell.source) if test and self.hidden_last else (cell.source, "")
        source, cell.source = cell.source, visible
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            cell.source = source
        if hidden and not any(map(scores_zero, cell.outputs)):  # a failed visible part scores 0 without them
            try:
                await self._run_quietly(KEEP % cell_index)
                self._deferred.append((cell_index, cell, hidden))
            except GuardFailed as failure:
                cell.outputs.append(new_output("error", ename="GuardFailed", evalue=str(failure), traceback=[]))
                self.flags.append(f"cell {cell_index + 1}: {failure}")
        if test:  # nbgrader scores the first decisive output: an error must come before any result
            cell.outputs.sort(key=lambda output: not scores_zero(output))
        if guarded and locked and not test and not self._student_code_ran:
            # The read-only cells before any student code (the set-up) import the libraries: snapshot them.
            await self._run_quietly(SNAPSHOT)
            self._snapshot_taken = True
        return cell

    execute_cell = run_sync(async_execute_cell)  # nbclient binds the synchronous name to its own method

    # -- timeouts --------------------------------------------------------------------------------------

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if self._deadline is None:
            return timeout
        left = max(1, int(self._deadline - monotonic()) + 1)  # no cell runs past the notebook's time
        return left if timeout is None else min(timeout, left)

    async def _async_poll_for_reply(self, msg_id, cell, timeout, *tasks):
        self._waiting_for = msg_id
        return await super()._async_poll_for_reply(msg_id, cell, timeout, *tasks)

    async def async_wait_for_reply(self, msg_id, cell=None):
        self._waiting_for = msg_id
        return await super().async_wait_for_reply(msg_id, cell)

    async def _async_handle_timeout(self, timeout, cell=None):
        """Interrupt the cell (nbclient), then stop the kernel if the cell does not stop within ``grace``
        seconds, or at once when the notebook is out of time."""
        where = f"cell {self._running + 1}" if self._running is not None else "a cell"
        if self._deadline is None or monotonic() < self._deadline:
            reply = await super()._async_handle_timeout(timeout, cell)
            if await self._replied(self._waiting_for, self.grace):
                return reply
            self._stopped = f"{where} ignored the interrupt after its {timeout} s timeout and was stopped"
        else:
            self._stopped = f"the notebook ran past its {self.notebook_timeout} s and was stopped in {where}"
        await ensure_async(self.km.signal_kernel(signal.SIGKILL))  # its process group: the sandbox too
        raise DeadKernelError(self._stopped)

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        try:
            return await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
        except MessageRefused as refused:  # no output, nor the end of the cell, can come: stop waiting for its reply
            self._refused = refused
            self.task_poll_for_reply.cancel()
            raise

    async def _replied(self, msg_id, seconds: float) -> bool:
        deadline = monotonic() + seconds
        while (left := deadline - monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Empty:
                return False
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False

    async def async_run_hidden_tests(self) -> None:
        """Run the waiting hidden tests, each in the namespace its visible part left, with the canaries at
        random places among them; record each failure as its test cell's error."""
        waiting, self._deferred = self._deferred, []
        if not waiting:
            return
        order = list(waiting)
        for canary in CANARIES:
            nonce = f"canary {secrets.token_hex(8)}"
            order.insert(secrets.randbelow(len(order) + 1), (None, nonce, canary.format(nonce=nonce)))
        done, tampered = set(), False
        try:
            if self.guard and self._snapshot_taken:
                await self._run_quietly(RESTORE)
            for index, cell_or_nonce, code in order:
                if index is not None:
                    await self._run_quietly(RECALL % index)
                content = await self._run_silently(code)
                if index is None:  # a canary: it must fail, with its own nonce
                    tampered |= not (content.get("status") == "error"
                                     and cell_or_nonce in str(content.get("evalue")))
                elif content.get("status") != "ok":
                    cell_or_nonce.outputs.append(hidden_failure(content, cell_or_nonce.source))
                done.add(index)
        except (GuardFailed, DeadKernelError) as failure:
            why = str(failure) if isinstance(failure, MessageRefused) else "the kernel died" \
                if isinstance(failure, DeadKernelError) else "the grader's guard could not run"
            (self.notes if isinstance(failure, DeadKernelError) else self.flags).append(
                f"the hidden tests did not all run: {why}")
            for index, cell, _ in waiting:
                if index not in done:
                    cell.outputs.append(new_output("error", ename=type(failure).__name__,
                                                   evalue=f"the hidden tests did not run: {why}", traceback=[]))
        if tampered:
            self.flags.append(TAMPERED)
            cells = {id(c): c for c in [*filter(is_test_cell, self.nb.cells), *(c for _, c, _ in waiting)]}
            for cell in cells.values():
                cell.outputs.append(new_output("error", ename="TamperingDetected", evalue=TAMPERED, traceback=[]))
        for _, cell, _ in waiting:
            cell.outputs.sort(key=lambda output: not scores_zero(output))

    run_hidden_tests = run_sync(async_run_hidden_tests)

    async def _run_silently(self, code: str) -> dict:
        """Run code in the kernel as no cell: no history, no cell hooks, its output read by no one; the reply."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        reply = await self.async_wait_for_reply(msg_id)
        return (reply or {}).get("content") or {"status": "error", "ename": "CellTimeoutError", "evalue": ""}

    async def _run_quietly(self, expression: str):
        """Evaluate grader code in the kernel without touching the notebook; return its value."""
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"result": expression})
        reply = await self.async_wait_for_reply(msg_id)
        content = (reply or {}).get("content", {})
        result = content.get("user_expressions", {}).get("result", {})
        if content.get("status") != "ok" or result.get("status") != "ok":
            why = result.get("ename") or content.get("ename") or "no reply"
            raise GuardFailed(f"the grader's guard could not run before this test ({why}): "
                              "the kernel's machinery was tampered with")
        return ast.literal_eval(result["data"]["text/plain"])

    # -- output ----------------------------------------------------------------------------------------

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg["content"]))
        if self._kept + size <= self.output_limit:
            self._kept += size
            return super().output(outs, msg, display_id, cell_index)
        self._cut += size
        content = msg["content"]
        if msg["msg_type"] == "error":  # errors decide scores: always kept, trimmed (a 100 MB message is one raise)
            msg = {**msg, "content": {**content, "evalue": str(content.get("evalue", ""))[:ERROR_KEPT],
                                      "traceback": [str(line)[:ERROR_KEPT] for line in content.get("traceback", [])[-3:]]}}
            return super().output(outs, msg, display_id, cell_index)
        if msg["msg_type"] == "stream" and content.get("name") == "stderr":  # stderr scores 0: keep a trace
            if not any(o.get("name") == "stderr" for o in outs):
                msg = {**msg, "content": {**content, "text": content.get("text", "")[:STDERR_KEPT]}}
                return super().output(outs, msg, display_id, cell_index)
            return None
        if not any(o.get("text", "").startswith(CUT) for o in outs):
            outs.append(new_output("stream", name="stdout",
                                   text=f"{CUT} more than {self.output_limit:,} bytes of output in this notebook]\n"))
        return None

    def _update_display_id(self, display_id, msg):
        """An update (``update_display``, or a new display with an id already shown) replaces the data of every
        output shown with that id, which nbclient does outside :meth:`output`: it counts once for each such
        output, and past the limit it is dropped (100 small displays and one 2 MB update made 200 MB)."""
        shown = sum(map(len, self._display_id_map.get(display_id, {}).values()))
        size = len(json.dumps(msg["content"])) * shown
        if self._kept + size > self.output_limit:
            self._cut += size
            return None
        self._kept += size
        return super()._update_display_id(display_id, msg)
