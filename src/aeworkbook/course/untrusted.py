"""Text that came from a student (file names, kernel output, notes about a run), made safe to print.

A file name or an error message can hold terminal escapes (clear the screen, retitle the terminal,
move the cursor), a newline that fakes a line of the summary, or Unicode bidirectional controls that
show text in another order than it is stored. Every place that prints, logs or reports such text
passes it through :func:`printable`, which shows each of these characters as a visible escape; a
Markdown report puts it in a :func:`code_span` or :func:`code_block`, so that it shows as written and is
never markup (an image that calls out when the instructor opens the report, a link, raw HTML).
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the invisible formatting characters that reorder or hide text
# (bidirectional embeddings, overrides and isolates, zero-width characters, the byte-order mark).
_FORMATTING = "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
_ANY = re.compile(f"[\x00-\x1f\x7f-\x9f{_FORMATTING}]")
_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_FORMATTING}]")  # keeps tab (\x09) and newline (\x0a)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` with every control and invisible formatting character shown as an escape (``\\x1b``).

    With ``lines``, newlines and tabs are kept (a log, a multi-line message); otherwise they are escaped
    too, so that the text stays on its one line of a summary or a table."""
    return (_BUT_LINES if lines else _ANY).sub(_escape, str(text))


def _fence(text: str, least: int) -> str:
    """Backticks, more than any run of them in ``text``, so that ``text`` cannot close them."""
    return "`" * max(least, max(map(len, re.findall("`+", text)), default=0) + 1)


def code_span(text: str) -> str:
    """``text`` on one line as a Markdown code span."""
    text = printable(text)
    fence = _fence(text, 1)
    return f"{fence} {text} {fence}"


def code_block(text: str) -> str:
    """``text``, its lines kept, as a fenced Markdown code block."""
    text = printable(text, lines=True)
    fence = _fence(text, 3)
    return f"{fence}text\n{text}\n{fence}"
