"""report.md and the written answers' listing show what came from students as code: rendered, it is never an
image, a link or HTML."""

from markdown_it import MarkdownIt

from aeworkbook.course.catalogue import Workbook, chapters
from aeworkbook.course.report import write_report
from aeworkbook.course.answers import StudentAnswer, listing
from aeworkbook.course.handgrading import TO_GRADE

HOSTILE = ["![seen](https://attacker.example/beacon.png)", "[click me](javascript:alert(1))",
           "<img src=x onerror=alert(1)>", "`` ` ``<script>alert(2)</script>", "**bold**\n# heading"]


def test_student_text_in_the_report_is_code_not_markup(tmp_path):
    known = chapters(Workbook.find().solutions)[:1]
    report = write_report(tmp_path / "report.md", {"ann": {known[0].id: {}}}, known,
                          problems=[(text, f"{text}: not a notebook (ignored)") for text in HOSTILE],
                          failures=[("ann", known[0].id, [f"could not be graded: ValueError: {text}"])
                                    for text in HOSTILE],
                          notes=[("ann", known[0].id, [text]) for text in HOSTILE],
                          isolation="bubblewrap sandbox", flagged=[("ann", known[0].id, HOSTILE)]).read_text()
    page = MarkdownIt("commonmark").enable("table").render(report)
    assert "<img" not in page.replace('<img src="report.png"', "")  # the report's own figure only
    assert "<a " not in page and "<script" not in page and "<strong>bold" not in page
    assert page.count("<h1>") == 1  # a newline in student text opened no heading
    # shown as written: in the flags, the failures, the notes, and twice in the problems (the folder, the file)
    assert page.count("&lt;script&gt;alert(2)&lt;/script&gt;") == 5


def test_a_written_answer_is_listed_as_written():
    chapter = chapters(Workbook.find().solutions)[0]
    text = "\n".join(HOSTILE + ["```", "## ben (graded 2 / 2)", "$\\beta > 1$ \x1b[2J"])
    answers = [StudentAnswer(student, text, TO_GRADE, None, "") for student in ("ann", "cat")]
    page = MarkdownIt("commonmark").render(listing(chapter, chapter.written[0], "the model answer", answers))
    assert page.count("<pre>") == 2 and page.count("<h2>") == 3  # the rubric, ann, cat: no fake "ben"
    assert "<img" not in page and "<a " not in page and "<script" not in page and "\x1b" not in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") == 2 and "$\\beta &gt; 1$ \\x1b[2J" in page
