"""Feedback that keeps hidden tests hidden.

nbgrader's feedback HTML shows every test cell whole, hidden tests included, and the tracebacks that
quote them (upstream issues #917 and #1363). :class:`HideHiddenTests` runs on the feedback copy only
(the autograded notebook an instructor opens keeps everything): each hidden region becomes one line
saying it is hidden, and each error in a test cell becomes its type and message (the first lines of
it), plus the visible line that failed, or "in the hidden tests".
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor

from .execute import is_test_cell

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*$", re.MULTILINE | re.DOTALL)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
MESSAGE_LINES = 3  # of an error's message: numpy's assertions add the hidden test's expected arrays after


def hidden_lines(source: str) -> set[int]:
    """1-based numbers of the source lines inside hidden regions, markers included."""
    lines = set()
    for match in HIDDEN.finditer(source):
        first = source.count("\n", 0, match.start()) + 1
        lines.update(range(first, first + match.group().count("\n") + 1))
    return lines


def without_hidden(source: str) -> str:
    return HIDDEN.sub("# (hidden tests: not shown in feedback)", source)


def failure_place(traceback: list[str], execution_count, source: str, hidden: set[int]) -> str:
    """Where in this cell the error came from: the visible line, or the hidden tests."""
    text = ANSI.sub("", "\n".join(traceback))
    lines = [int(n) for n in re.findall(rf"Cell In\[{execution_count}\], line (\d+)", text)]
    if any(n in hidden for n in lines):
        return "in the hidden tests"
    if lines:
        quoted = source.splitlines()[lines[-1] - 1].strip() if lines[-1] <= len(source.splitlines()) else ""
        return f"at line {lines[-1]}: {quoted}"
    return ""


def short_error(output, place: str) -> list[str]:
    message = "\n".join(str(output.get("evalue", "")).strip().splitlines()[:MESSAGE_LINES])
    return [f"{output.get('ename', 'Error')}: {message}".rstrip(": ")] + ([f"  ({place})"] if place else [])


def scrub(text: str, secrets: list[str]) -> str:
    return "\n".join(line for line in text.split("\n") if not any(s in line for s in secrets))


class HideHiddenTests(Preprocessor):
    """Strip hidden tests, and what quotes them, from a notebook's feedback copy."""

    enabled = True

    def preprocess_cell(self, cell, resources, index):
        if not is_test_cell(cell):
            return cell, resources
        hidden = hidden_lines(cell.source)
        if not hidden:
            return cell, resources
        source_lines = cell.source.splitlines()
        secrets = [source_lines[n - 1].strip() for n in sorted(hidden)
                   if n <= len(source_lines) and len(source_lines[n - 1].strip()) >= 8]
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                place = failure_place(output.get("traceback", []), cell.get("execution_count"), cell.source, hidden)
                output.traceback = [scrub(line, secrets) for line in short_error(output, place)]
                output.evalue = scrub("\n".join(str(output.get("evalue", "")).splitlines()[:MESSAGE_LINES]), secrets)
            elif output.output_type == "stream":
                output.text = scrub(output.text, secrets)
            else:
                for kind, value in output.get("data", {}).items():
                    if isinstance(value, str):
                        output.data[kind] = scrub(value, secrets)
        cell.source = without_hidden(cell.source)
        return cell, resources
