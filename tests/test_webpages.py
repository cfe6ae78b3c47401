"""Pages made of a student's notebook (the formgrader's submission page, the feedback) run none of it.

A fast check without a browser: a notebook carrying every payload of ``payloads.py`` (and some that
only the notebook's own JSON can carry) goes through nbconvert's HTML exporter with nbgrader's own
templates and the course's configuration; the notebook's part of the page then holds no script, no
event handler, nothing that loads or frames anything, while maths, figures and tables remain.
The browser test (``test_browser_instructor.py``) watches the same payloads in Chromium.
"""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbconvert.exporters import HTMLExporter
from nbgrader.server_extensions.formgrader.handlers import template_path

from aeworkbook.course.catalogue import Workbook
from aeworkbook.course.feedback import HideHiddenTests
from aeworkbook.course.nbconfig import course_config
from aeworkbook.course.webpages import NOTEBOOK_START, FeedbackExporter, InertNotebook, clean, page_policy

from payloads import make_hostile, output_cell, outputs
from workbook import ROOT

PORT = 8765
PNG = base64.b64encode(bytes.fromhex(  # a 1x1 PNG
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()
FORBIDDEN_TAGS = {"script", "iframe", "svg", "object", "embed", "meta", "style", "link", "base", "form", "frame",
                  "math"}


def hostile_notebook() -> nbformat.NotebookNode:
    """An autograded-looking notebook: payloads in a written answer, a markdown cell, outputs, metadata."""
    answer = nbformat.v4.new_markdown_cell("my answer", metadata={"nbgrader": {
        "grade": True, "solution": True, "grade_id": "ch01_discuss_identity", "points": 2, "score": 0,
        "schema_version": 3}})
    nb = nbformat.v4.new_notebook(cells=[answer], metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                           "display_name": "Python 3"}})
    make_hostile(PORT, ["ch01_discuss_identity"])(nb)
    code = next(c for c in nb.cells if c.cell_type == "code")
    assert code.source == output_cell(PORT)
    code.execution_count = 1
    code.outputs = [nbformat.v4.new_output("display_data", data=bundle) for bundle in outputs(PORT)] + [
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"},
                               metadata={"image/png": {"width": 100, "filenames": '"><script>x</script>'}}),
        nbformat.v4.new_output("execute_result", execution_count=2, data={
            "text/html": "<table class='dataframe'><tr><th>loss</th></tr><tr><td>0.03</td></tr></table>"}),
        nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}),
    ]
    # What only the notebook's JSON can carry: a cell whose grade id would break out of an attribute,
    # an attachment that is not an image, a raw HTML cell, tags, widget state, a hidden source.
    nb.cells += [
        nbformat.v4.new_markdown_cell("x", metadata={"nbgrader": {"solution": True, "grade": True, "points": 1,
                                                                  "grade_id": '"><img src=x onerror=alert(1)>'}}),
        nbformat.v4.new_markdown_cell("![x](attachment:a.png) ![y](attachment:b.svg)", attachments={
            "a.png": {"text/html": "<script>x</script>"}, "b.svg": {"image/svg+xml": base64.b64encode(
                b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>').decode()}}),
        nbformat.v4.new_raw_cell("<script>alert('raw')</script>", metadata={"raw_mimetype": "text/html"}),
        nbformat.v4.new_code_cell("secret = 1", metadata={"tags": ['"><script>x</script>'],
                                                           "transient": {"remove_source": True}}),
        nbformat.v4.new_code_cell(  # a failed test cell, for the feedback's hiding of hidden tests
            "assert True\n### BEGIN HIDDEN TESTS\nassert False, 'hidden'\n### END HIDDEN TESTS", execution_count=3,
            metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "ch01_x_tests", "points": 1,
                                   "score": 0}},
            outputs=[nbformat.v4.new_output("error", ename="AssertionError", evalue="hidden",
                                            traceback=["Cell In[3], line 3", "<script>x</script>"])]),
    ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    return nb


def exporter(tmp_path, template: str, **course):
    """The exporter nbgrader makes for this page, with the course's configuration."""
    c = course_config(Workbook(ROOT), tmp_path / "course", **course)
    c.HTMLExporter.template_name = template
    c.HTMLExporter.extra_template_basedirs = [template_path]
    c.HTMLExporter.extra_template_paths = [str(Path(template_path).parent / "static/node_modules/bootstrap/dist/css")]
    if template == "formgrade":  # the formgrader: HTMLExporter(config=...), preprocessors from the config
        return HTMLExporter(config=c)
    made = c.GenerateFeedback.exporter_class(config=c)  # as nbgrader's converters do: then the feedback's own
    for preprocessor in c.GenerateFeedback.preprocessors[1:]:  # (GetGrades needs a gradebook: its scores are here)
        made.register_preprocessor(preprocessor, enabled=True)
    return made


RESOURCES = {"formgrade": {"base_url": "", "assignment_id": "ch01", "notebook_id": "ch01", "submission_id": "s1",
                           "index": 0, "total": 1, "student": "mallory", "notebook_path": "x"},
             "feedback": {"nbgrader": {"notebook": "ch01", "score": 0, "max_score": 2, "late_penalty": 0}}}


class Markup(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attributes, self.inputs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        self.inputs += [dict(attrs)] if tag == "input" else []


def notebook_part(html: str) -> Markup:
    assert NOTEBOOK_START in html
    markup = Markup()
    markup.feed(html.split(NOTEBOOK_START, 1)[1])
    return markup


@pytest.mark.parametrize("template", ["formgrade", "feedback"])
def test_a_hostile_notebook_renders_inert(tmp_path, template):
    html, _ = exporter(tmp_path, template).from_notebook_node(hostile_notebook(), resources=RESOURCES[template])
    markup = notebook_part(html)
    assert not FORBIDDEN_TAGS & set(markup.tags), FORBIDDEN_TAGS & set(markup.tags)
    assert all(i.get("class") in ("score tabbable", "extra-credit tabbable") for i in markup.inputs)  # the formgrader's
    handlers = [(tag, name) for tag, name, _ in markup.attributes if name.startswith("on")]
    assert not handlers, handlers
    assert not [a for a in markup.attributes if f":{PORT}" in a[2] or "javascript:" in a[2].lower()
                or (a[1] in ("src", "href", "data") and a[2].startswith("data:") and not a[2].startswith(
                    ("data:image/png;base64,", "data:image/jpeg;base64,")))]
    assert "PWNED" not in html.split(NOTEBOOK_START, 1)[0]  # the title payload
    assert ">secret<" in html  # a source the student hid (transient.remove_source) is shown
    # What a course needs still shows: maths as TeX for MathJax, figures, tables, formatting.
    assert "$\\lambda \\|h\\|_1$" in html
    assert f'src="data:image/png;base64,{PNG}"' in html
    assert "<td>0.03</td>" in html and "<b>html</b>" in html
    assert ("in the hidden tests" in html) is (template == "feedback")


def test_the_sanitizer_keeps_what_teaching_needs():
    assert clean('<p>A <b>bold</b> $x^2 &lt; y$ <a href="https://keras.io">link</a></p>') == \
        '<p>A <b>bold</b> $x^2 &lt; y$ <a href="https://keras.io" rel="noopener noreferrer">link</a></p>'
    assert clean('<div class="highlight"><pre><span class="k">def</span></pre></div>') == \
        '<div class="highlight"><pre><span class="k">def</span></pre></div>'
    image = f'<img src="data:image/png;base64,{PNG}" width="10">'
    assert clean(image) == image
    for hostile in ['<img src="data:image/svg+xml;base64,AAAA">', '<img src="/files/x.png">',
                    '<a href="data:text/html,x">', '<a href="javascript:alert(1)">', '<span class="score">']:
        assert "data:" not in clean(hostile) and "javascript" not in clean(hostile) and "score" not in clean(hostile)


def test_the_course_renders_every_page_through_the_sanitizer(tmp_path):
    for reveal in (False, True):
        c = course_config(Workbook(ROOT), tmp_path / "course", reveal_hidden_tests=reveal)
        assert (HideHiddenTests in c.get("GenerateFeedback", {}).get("preprocessors", [])) is not reveal
        assert c.GenerateFeedback.exporter_class is FeedbackExporter
        assert c.HTMLExporter.preprocessors == [InertNotebook]


def test_the_policy_lets_only_the_templates_scripts_run(tmp_path):
    page, _ = exporter(tmp_path, "formgrade").from_notebook_node(hostile_notebook(), resources=RESOURCES["formgrade"])
    policy = page_policy(page.replace("</body>", "<script>injected()</script><b onclick=\"evil()\">x</b></body>"),
                         "http://127.0.0.1:1", connect="http://127.0.0.1:1/formgrader/api/")
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    script_src = directives["script-src"].split()
    # nbgrader's four inline scripts (MathJax's configuration among them) and its two onclick handlers;
    # none of the notebook's
    assert len([s for s in script_src if s.startswith("'sha256-")]) == 6, script_src
    assert "'unsafe-inline'" not in script_src and "'self'" not in script_src
    assert "http://127.0.0.1:1/formgrader/static/js/" in script_src
    assert "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/" in script_src
    assert directives["connect-src"] == "http://127.0.0.1:1/formgrader/api/"
    assert directives["object-src"] == directives["frame-src"] == "'none'"
    feedback, _ = exporter(tmp_path, "feedback").from_notebook_node(hostile_notebook(), resources=RESOURCES["feedback"])
    assert feedback.index('<meta http-equiv="Content-Security-Policy"') < feedback.index("<script")
