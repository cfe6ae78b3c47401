"""report.md shows what came from students as code: rendered, it is never an image, a link or HTML."""

from markdown_it import MarkdownIt

from aeworkbook.course.catalogue import Workbook, chapters
from aeworkbook.course.report import write_report

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
