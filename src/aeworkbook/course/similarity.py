"""Copied answers: every pair of students compared, exercise by exercise and written answer by written answer.

The comparison is copydetect's (https://github.com/blingenf/copydetect): each answer is tokenised with
Pygments, names and strings are replaced by placeholders (so renaming variables changes nothing) and
comments and blanks dropped, then fingerprinted by winnowing k-grams (Schleimer, Wilkerson and Aiken,
SIGMOD 2003; the method of MOSS), so that reordered statements keep most of their fingerprints. What every
student was given is boilerplate whose fingerprints count for nobody: the released stub of the cell (the
``chapters/`` version: signature, docstring, ``raise NotImplementedError()``) and the chapter's own code
(every other code cell of the released notebook). A pair's score is the smaller of the two shares of an
answer's fingerprints found in the other: a copy shares nearly everything both ways, while two independent
answers to a short exercise often share one answer's few lines (the larger share flagged twice as many
independent pairs on the fabricated class, tests/copies.py).

Before fingerprinting, the statements of every block are put in one fixed order (``canonical``): a k-gram
spans statements, so swapping two short independent statements broke most of a short answer's fingerprints
(a three-line copy scored 0.47). The report still shows each answer as the student wrote it.

Written answers are compared as text, lowercased, with the question and the released placeholder as
boilerplate. The report is HTML, each pair side by side with the shared passages marked; student text is
escaped (copydetect's ``highlight_overlap`` with ``escape_html``), never markup.
"""

from __future__ import annotations

import ast
import functools
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .catalogue import Chapter, nbgrader_meta

FLAGGED = 0.8  # a pair scoring this or more is flagged (precision and recall measured in the README)
SHOWN = 10  # pairs a question's section shows side by side


@dataclass(frozen=True)
class Question:
    grade_id: str
    code: bool  # an exercise's answer cell; else a written answer
    boilerplate: tuple[str, ...]  # what every student was given: the released notebook's cells


@dataclass(frozen=True)
class Pair:
    question: str
    students: tuple[str, str]
    score: float
    marked: tuple[str, str] | tuple[()]  # each answer as escaped HTML, the shared passages in <mark>; () past
    # the pairs a report shows


def fingerprint(name: str, text: str, code: bool, boilerplate=None):
    from copydetect import CodeFingerprint, defaults

    window = defaults.GUARANTEE_THRESHOLD - defaults.NOISE_THRESHOLD + 1
    return CodeFingerprint(f"{name}.py" if code else f"{name}.txt", defaults.NOISE_THRESHOLD, window,
                           boilerplate=boilerplate, filter=code, fp=io.StringIO(text if code else text.lower()))


# a statement's sort key: its syntax tree with names, attributes and strings blanked, as copydetect ignores them
_NAMES = re.compile(r"""\b(id|arg|attr|name|value)=(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
CANONICAL_CHARS = 100_000  # longer answers (no real one) are fingerprinted as written: sorting costs size × depth


def canonical(code: str) -> str:
    """``code`` with the statements of every block sorted by their syntax (names and strings aside), inner
    blocks first: reordered statements give the same text. As written if it does not parse."""
    if len(code) > CANONICAL_CHARS:
        return code
    try:
        tree = ast.parse(code)
        for node in reversed(list(ast.walk(tree))):  # breadth-first, reversed: a block after the blocks inside it
            for field in ("body", "orelse", "finalbody"):
                block = getattr(node, field, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    block.sort(key=lambda statement: _NAMES.sub(r"\1=''", ast.dump(statement)))
        return ast.unparse(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code


@functools.lru_cache(maxsize=16)  # a chapter's questions share its code
def boilerplate_hashes(cells: tuple[str, ...], code: bool, ordered: bool) -> list[int]:
    text = "\n\n".join(canonical(cell) if ordered else cell for cell in cells)
    return list(fingerprint("boilerplate", text, code).hashes)


def compare(question: Question, answers: dict[str, str], shown: int = SHOWN) -> list[Pair]:
    """Every pair of ``answers`` ({student: text}) to ``question``, the most similar first; the first ``shown``
    with their shared passages marked. Answers that are only boilerplate (left as released) are left out. Code
    is scored in its canonical order and shown as written."""
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap

    def prints(ordered: bool):
        given = boilerplate_hashes(question.boilerplate, question.code, ordered)
        return {student: fingerprint(student, canonical(text) if ordered else text, question.code, given)
                for student, text in sorted(answers.items())}

    scored = {student: p for student, p in prints(question.code).items() if p.hashes}
    students = list(scored)
    found = []
    for i, a in enumerate(students):
        for b in students[i + 1:]:
            score = float(min(compare_files(scored[a], scored[b])[1]))
            if score:
                found.append(((a, b), score))
    found.sort(key=lambda pair: (-pair[1], pair[0]))
    shown_prints = prints(False) if question.code else scored
    pairs = []
    for rank, ((a, b), score) in enumerate(found):
        marked = ()
        if rank < shown:  # marking costs a second comparison: only for the pairs the report shows
            slices = compare_files(shown_prints[a], shown_prints[b])[2]
            texts = [shown_prints[s].raw_code if question.code else answers[s] for s in (a, b)]
            marked = tuple(highlight_overlap(text, cut, "<mark>", "</mark>", escape_html=True)[0] if cut.size
                           else html.escape(text)  # shared only once reordered: nothing to mark as written
                           for text, cut in zip(texts, slices))
        pairs.append(Pair(question.grade_id, (a, b), score, marked))
    return pairs


def questions(chapter: Chapter, released) -> list[Question]:
    """The chapter's exercises and written answers, each with what the released notebook gave everyone."""
    code_cells = [cell.source for cell in released.cells if cell.cell_type == "code"]
    by_id = {nbgrader_meta(cell).get("grade_id"): (index, cell) for index, cell in enumerate(released.cells)}
    found = [Question(e.answer_id, True, tuple(code_cells)) for e in chapter.exercises]
    for written in chapter.written:
        index, cell = by_id[written.grade_id]
        before = released.cells[index - 1].source if index else ""
        found.append(Question(written.grade_id, False, (before, cell.source)))
    return found


def class_answers(course_dir: Path, chapter: Chapter) -> dict[str, dict[str, str]]:
    """{grade id: {student: answer}} from the copies of the submissions in the course (``submitted/``)."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(Path(course_dir).glob(f"submitted/*/{chapter.id}/{chapter.notebook}")):
        student = path.parent.parent.name
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # grade already reported it; nothing to compare
            continue
        for cell in nb.cells:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if grade_id:
                found.setdefault(grade_id, {})[student] = cell.source
    return found


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }}
.side {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }}
pre {{ background: #f6f6f6; padding: 0.6em; white-space: pre-wrap; }} mark {{ background: #ffd54f; }}
.flag {{ color: #b00020; font-weight: bold; }}
</style></head><body>
<h1>{title}</h1>
<p>Pairs of students whose answers share the most, per question, by copydetect (winnowed fingerprints of
the answers with names, strings, comments, layout and the order of statements ignored, and the released stub
and the chapter's own code removed); each answer is shown as written. A score is the smaller of the shares of
each answer found in the other; pairs at {flagged:.0%} or more are flagged. Similar is not copied: read both
answers.</p>
{summary}
{sections}
</body></html>
"""


def write_report(path: Path, chapter: Chapter, ranked: dict[str, list[Pair]], shown: int = SHOWN) -> Path:
    """One HTML page for the chapter: a table of the flagged pairs, then each question's top ``shown`` pairs
    side by side."""
    flagged = sorted((p for pairs in ranked.values() for p in pairs if p.score >= FLAGGED), key=lambda p: -p.score)
    rows = "".join(f"<tr><td>{html.escape(p.question)}</td><td>{html.escape(p.students[0])}</td>"
                   f"<td>{html.escape(p.students[1])}</td><td>{p.score:.0%}</td></tr>" for p in flagged)
    summary = (f"<h2>Flagged pairs ({len(flagged)})</h2><table><tr><th>question</th><th>student</th><th>student</th>"
               f"<th>score</th></tr>{rows}</table>") if flagged else "<h2>No pair flagged</h2>"
    sections = []
    for question, pairs in ranked.items():
        sections.append(f"<h2>{html.escape(question)}</h2>")
        if not pairs:
            sections.append("<p>Fewer than two answers beyond what was released.</p>")
        for pair in pairs[:shown]:
            flag = ' class="flag"' if pair.score >= FLAGGED else ""
            sections.append(f"<h3{flag}>{html.escape(pair.students[0])} and {html.escape(pair.students[1])}: "
                            f"{pair.score:.0%}</h3><div class=\"side\">"
                            + "".join(f"<pre>{text}</pre>" for text in pair.marked) + "</div>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PAGE.format(title=html.escape(f"Similar answers: {chapter.id}"), flagged=FLAGGED,
                                summary=summary, sections="\n".join(sections)))
    return path


def chapter_report(course_dir: Path, chapter: Chapter, released_path: Path) -> tuple[Path, list[Pair]]:
    """Compare the class's answers to every question of ``chapter``; write ``similarity/<chapter>.html``."""
    released = nbformat.read(released_path, as_version=4)
    answers = class_answers(course_dir, chapter)
    ranked = {q.grade_id: compare(q, answers.get(q.grade_id, {})) for q in questions(chapter, released)}
    path = write_report(Path(course_dir) / "similarity" / f"{chapter.id}.html", chapter, ranked)
    return path, [p for pairs in ranked.values() for p in pairs if p.score >= FLAGGED]
