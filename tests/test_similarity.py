"""The similarity report on a fabricated class (tests/copies.py): disguised copies rank above independent
answers, the released stub and the chapter's code count for nobody, and student text is never markup."""

import itertools
import re
from functools import cache

import nbformat
import pytest

from aeworkbook.course import similarity
from aeworkbook.course.catalogue import Workbook, chapters
from copies import cases, pair
from workbook import exercises, student_notebook

KNOWN = {c.id: c for c in chapters(Workbook.find().solutions)}


@cache
def questions(chapter: str) -> dict:
    released = nbformat.read(student_notebook(chapter), as_version=4)
    return {q.grade_id: q for q in similarity.questions(KNOWN[chapter], released)}


def question(case):
    return questions(case.chapter)[case.grade_id if case.code else KNOWN[case.chapter].written[0].grade_id]


@pytest.fixture(scope="module")
def measured():
    """{grade id: (scores of the copy pairs, scores of the independent pairs)} over the fabricated class."""
    found = {}
    for case in cases():
        scores = {p.students: p.score for p in similarity.compare(question(case), case.answers)}
        every = [pair(a, b) for a, b in itertools.combinations(case.answers, 2)]
        found[case.grade_id] = ([scores.get(p, 0.0) for p in every if p in case.copies],
                                [scores.get(p, 0.0) for p in every if p not in case.copies])
    return found


def test_copies_rank_above_independent_answers(measured):
    failing = {grade_id for grade_id, (copies, independent) in measured.items() if min(copies) <= max(independent)}
    assert not failing
    assert len(measured) >= 25  # the exercises with right answers, and a written answer


def test_flagged_pairs_precision_and_recall(measured):
    copies = [s for c, _ in measured.values() for s in c]
    independent = [s for _, i in measured.values() for s in i]
    found = sum(s >= similarity.FLAGGED for s in copies)
    wrongly = sum(s >= similarity.FLAGGED for s in independent)
    assert found == len(copies), f"recall {found}/{len(copies)}"
    assert wrongly <= 4, f"precision {found / (found + wrongly):.2f}"  # 4: ch05_generate's (in the README)


def test_reordered_statements_score_as_a_copy_and_show_as_written():
    # a k-gram spans statements: before canonical(), this three-line copy scored 0.47
    own = "def norm(codes, kernel):\n    slopes = codes * (1 - codes)\n    sizes = (kernel * kernel).sum(0)\n" \
          "    return (slopes * slopes * sizes).sum(1)\n"
    copy = "def norm(h, w):\n    n = (w * w).sum(0)  # the columns first\n    s = h * (1 - h)\n" \
           "    return (s * s * n).sum(1)\n"
    [pair] = similarity.compare(similarity.Question("q", True, ()), {"own": own, "copy": copy})
    assert pair.score == 1.0
    assert pair.marked == (copy, own)  # as written (nothing to escape)


def test_the_released_stub_is_nobody_s_copy():
    exercise = exercises("ch01_simple_sparse")[1]
    stub = [c.source for c in nbformat.read(student_notebook("ch01_simple_sparse"), as_version=4).cells
            if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == exercise.answer_id][0]
    q = questions("ch01_simple_sparse")[exercise.answer_id]
    assert similarity.compare(q, {"ann": stub, "ben": stub, "cat": exercise.solution}) == []  # no pair at all
    # without the chapter's code as boilerplate, two stubs are "identical"
    bare = similarity.Question(q.grade_id, True, ())
    assert similarity.compare(bare, {"ann": stub, "ben": stub})[0].score == 1.0


def test_report_escapes_student_text(tmp_path):
    payload = 'x = "</pre><script>alert(document.cookie)</script>"\n<img src=x onerror=alert(1)>'
    code = exercises("ch01_simple_sparse")[1].solution + "\n" + payload
    q = questions("ch01_simple_sparse")[exercises("ch01_simple_sparse")[1].answer_id]
    ranked = {q.grade_id: similarity.compare(q, {"<b>eve</b>": code, "mal": code})}
    page = similarity.write_report(tmp_path / "r.html", KNOWN["ch01_simple_sparse"], ranked).read_text()
    assert ranked[q.grade_id][0].score == 1.0
    assert "<script" not in page and "<img" not in page and "<b>eve" not in page
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in re.sub(r"</?mark>", "", page)
    assert page.count("<pre>") == 2 and page.count("</pre>") == 2  # the student's </pre> closed nothing


def test_similarity_command_reads_the_course_and_names_the_copiers(tmp_path):
    import contextlib
    import io

    from aeworkbook.course.cli import main
    from copies import disguise
    from workbook import cell_by_id, source_notebook, submission

    chapter = "ch01_simple_sparse"
    first = exercises(chapter)[1]
    for student, solved, edit in (("ann", "all", None), ("ben", "all", disguise), ("cat", set(), None)):
        nb = submission(chapter, solved)
        if edit:
            cell_by_id(nb, first.answer_id).source = edit(first.solution, 0)
        path = tmp_path / "course" / "submitted" / student / chapter / source_notebook(chapter).name
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["similarity", "--course", str(tmp_path / "course")]) == 0
    assert f"{first.answer_id}: ann and ben" in out.getvalue() and "cat" not in out.getvalue()
    assert "ann and ben" in (tmp_path / "course" / "similarity" / f"{chapter}.html").read_text()
