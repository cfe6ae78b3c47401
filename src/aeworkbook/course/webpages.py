"""Web pages made of a student's notebook show it, and run none of it.

nbgrader renders the autograded notebook as HTML twice: live, in the formgrader's submission page, on
the origin of the instructor's Jupyter server (whose API writes files and starts kernels), and as the
feedback file. Both use nbconvert's HTMLExporter with nbgrader's templates, which pass a student's
markdown, raw HTML outputs and JavaScript outputs to the page as they are (``sanitize_html`` is off,
and nbgrader's templates skip ``clean_html`` for markdown anyway). Here, for both pages:

* :class:`InertNotebook` keeps of the notebook only what the templates need: output types a course
  shows (text, PNG/JPEG figures, LaTeX, HTML and markdown that :func:`clean` then sanitizes), typed
  nbgrader cell metadata, integer execution counts, PNG/JPEG attachments; everything else
  (JavaScript, SVG, widgets, the notebook's title and other metadata) is dropped;
* :class:`SafeMarkdown` replaces the exporter's ``markdown2html`` filter: markdown is rendered as
  before (maths stays TeX source for MathJax), then sanitized by :func:`clean` (nh3, the Rust
  sanitizer ammonia), which also takes the place of nbconvert's ``clean_html``;
* :func:`page_policy` is a Content-Security-Policy that lets only the template's own scripts run:
  the feedback carries it in a meta tag (:class:`FeedbackExporter`), and the formgrader's server
  sends it with every submission page (:func:`_load_jupyter_server_extension`, enabled by
  ``formgrader_jupyter/jupyter_server_config.d``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from urllib.parse import urljoin

import nbformat
import nh3
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from pygments.token import STANDARD_TYPES
from traitlets.config import LoggingConfigurable

# -- the sanitizer --------------------------------------------------------------------------------------

IMAGES = ("data:image/png;base64,", "data:image/jpeg;base64,")


def _url_filter(element: str, attribute: str, value: str) -> str | None:
    """Images only from the page itself (embedded PNG/JPEG: no tracking pixel, no SVG); links not to data: URLs."""
    if element == "img" and attribute == "src":
        return value if value.startswith(IMAGES) else None
    if attribute == "href" and value.strip().lower().startswith("data:"):
        return None
    return value


CLEANER = nh3.Cleaner(
    # ammonia's tags for text, lists, tables, code and images: no script, style, svg, math, iframe, form
    tags=set(nh3.ALLOWED_TAGS) - {"area", "map"},
    clean_content_tags={"script", "style"},
    attributes={tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_url_filter,
    url_schemes={"http", "https", "mailto", "data"},
    url_relative="deny",  # a relative link or image would reach the instructor's Jupyter server
    # syntax colours of code in markdown, pandas' tables; no id (a student's id could stand in for the
    # formgrader's score boxes), no other class (the formgrader's scripts find their buttons by class)
    allowed_classes={"div": {"highlight"}, "span": set(STANDARD_TYPES.values()) - {""},
                     "table": {"dataframe"}},
)


def clean(html: str) -> str:
    """``html`` with nothing that runs or loads anything: text, tables, code, embedded images."""
    return CLEANER.clean(str(html))


class SafeMarkdown(LoggingConfigurable):
    """The HTML exporter's own ``markdown2html`` (cell attachments, maths left for MathJax), then :func:`clean`.

    Registered as an exporter filter (a configurable class gets the exporter as ``parent``)."""

    jinja_pass_arg = pass_context(lambda: None).jinja_pass_arg  # Jinja passes the template context (the cell)

    def __call__(self, context, source: str) -> str:
        return clean(self.parent.markdown2html(context, source))


# -- the notebook, reduced to what the templates need ----------------------------------------------------

SHOWN = {"text/plain", "text/latex", "image/png", "image/jpeg"}  # escaped or embedded by the templates
CLEANED = {"text/html", "text/markdown"}  # sanitized here, or rendered by SafeMarkdown
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
NBGRADER_TYPES = {"grade": bool, "solution": bool, "locked": bool, "task": bool, "points": (int, float),
                  "score": (int, float), "comment": str, "schema_version": int, "cell_type": str}


def _nbgrader(meta) -> dict:
    """nbgrader's cell metadata with the types the templates assume (they print grade_id in attributes)."""
    meta = _dict(meta)
    kept = {key: value for key, value in meta.items()
            if key in NBGRADER_TYPES and isinstance(value, NBGRADER_TYPES[key])}
    if isinstance(meta.get("grade_id"), str) and GRADE_ID.match(meta["grade_id"]):
        kept["grade_id"] = meta["grade_id"]
    elif kept.get("grade") or kept.get("solution") or kept.get("task"):
        return {}  # a graded cell without a usable id is shown as an ordinary cell
    return kept


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _output(output) -> dict | None:
    kind = output.get("output_type")
    if kind == "stream":
        return {"output_type": "stream", "name": "stderr" if output.get("name") == "stderr" else "stdout",
                "text": str(output.get("text", ""))}
    if kind == "error":
        return {"output_type": "error", "ename": str(output.get("ename", "")), "evalue": str(output.get("evalue", "")),
                "traceback": [str(line) for line in output.get("traceback", [])]}
    if kind not in ("display_data", "execute_result"):
        return None
    data = {mime: (clean(value) if mime == "text/html" else str(value))
            for mime, value in _dict(output.get("data")).items() if mime in SHOWN | CLEANED and isinstance(value, str)}
    size = {mime: {k: v for k, v in _dict(meta).items() if k in ("width", "height") and _count(v) is not None}
            for mime, meta in _dict(output.get("metadata")).items() if mime in ("image/png", "image/jpeg")}
    if not data:
        return None
    kept = {"output_type": kind, "data": data, "metadata": size}
    return {**kept, "execution_count": _count(output.get("execution_count"))} if kind == "execute_result" else kept


def _attachments(attachments) -> dict:
    """PNG/JPEG attachments only; another kind keeps its name (the markdown refers to it) but shows nothing."""
    return {name: {mime: data for mime, data in _dict(bundle).items()
                   if mime in ("image/png", "image/jpeg") and isinstance(data, str)} or {"image/png": ""}
            for name, bundle in _dict(attachments).items()}


class InertNotebook(Preprocessor):
    """The notebook as the page shows it: see the module's doc. Runs on the copy being rendered only."""

    def preprocess(self, nb, resources):
        nb.metadata = {key: value for key, value in _dict(nb.get("metadata")).items()
                       if key in ("kernelspec", "language_info") and isinstance(value, dict)}
        cells = []
        for cell in nb.cells:
            if cell.get("cell_type") not in ("markdown", "code"):
                continue  # raw cells are never shown by nbgrader's pages
            cell.source = str(cell.get("source", ""))
            meta = _dict(cell.get("metadata"))
            cell.metadata = {"nbgrader": _nbgrader(meta["nbgrader"])} if "nbgrader" in meta else {}
            if "id" in cell and not (isinstance(cell.id, str) and GRADE_ID.match(cell.id)):
                del cell["id"]
            if cell.cell_type == "markdown":
                if "attachments" in cell:
                    cell.attachments = _attachments(cell.attachments)
            else:
                cell.execution_count = _count(cell.get("execution_count"))
                outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
                cell.outputs = [kept for kept in map(_output, map(_dict, outputs)) if kept is not None]
            cells.append(cell)
        nb.cells = cells
        return nbformat.from_dict(nb), resources  # attribute access for the preprocessors after this one


def configure_pages(c) -> None:
    """Every HTML page that nbgrader makes of a notebook with the config ``c`` shows it inert."""
    # First of each page's preprocessors: nbgrader's converters (the feedback) add theirs after these.
    c.HTMLExporter.preprocessors = [InertNotebook]
    c.HTMLExporter.sanitize_html = True  # the templates' own switch: no JavaScript output, HTML through clean_html
    c.HTMLExporter.filters = {"markdown2html": SafeMarkdown, "clean_html": clean}
    c.GenerateFeedback.exporter_class = FeedbackExporter


# -- Content-Security-Policy: only the template's scripts run ------------------------------------------------

NOTEBOOK_START = 'id="notebook-container"'  # nbgrader's pages put the notebook in this div, after their own markup


class _TemplateScripts(HTMLParser):
    """The inline scripts, inline event handlers and loaded scripts of a page's own (template) markup."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.inline, self.handlers, self.loaded, self._script = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.handlers += [value for name, value in attrs if name.startswith("on") and value]
        src = dict(attrs).get("src")
        if tag == "script":
            self.loaded += [src] if src else []
            self._script = None if src else []

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.inline.append("".join(self._script))
            self._script = None


def _sha256(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def page_policy(page: str, origin: str = "", connect: str = "'none'") -> str:
    """A Content-Security-Policy for ``page`` (an nbgrader page made of a notebook) that lets run only the
    scripts of the page's markup before the notebook: its inline scripts and handlers by their hashes, and
    the scripts it loads, from their own folders (MathJax loads more from its folder). ``origin`` resolves
    the page's relative URLs; ``connect`` is what its scripts may fetch.

    ``'unsafe-eval'``: MathJax 2 runs its inline configuration (``$...$`` as maths) with ``eval``."""
    head = page.split(NOTEBOOK_START, 1)[0] if NOTEBOOK_START in page else ""  # no notebook: no script
    scripts = _TemplateScripts()
    scripts.feed(head)
    folders = sorted({urljoin(origin, src).split("?")[0].rsplit("/", 1)[0] + "/" for src in scripts.loaded})
    hashes = [_sha256(text) for text in dict.fromkeys(scripts.inline + scripts.handlers)]
    elsewhere = [folder for folder in folders if not (origin and folder.startswith(f"{origin}/"))]  # MathJax's
    return "; ".join([
        "default-src 'none'",
        " ".join(["script-src 'unsafe-eval' 'unsafe-hashes'", *hashes, *folders]),
        " ".join(["style-src 'self' 'unsafe-inline'", *elsewhere]),
        " ".join(["font-src 'self' data:", *elsewhere]),
        "img-src 'self' data:", f"connect-src {connect}",
        "base-uri 'none'", "form-action 'none'", "frame-src 'none'", "object-src 'none'",
    ])


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback page with :func:`page_policy` in a meta tag, first in its head."""

    def from_notebook_node(self, nb, resources=None, **kw):
        html, resources = super().from_notebook_node(nb, resources, **kw)
        meta = f'<meta http-equiv="Content-Security-Policy" content="{page_policy(html)}">'
        return html.replace("<head>", f"<head>\n{meta}", 1), resources


# -- the formgrader's server: the policy on every submission page ---------------------------------------------

def _jupyter_server_extension_points():
    return [{"module": "aeworkbook.course.webpages"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from tornado.web import OutputTransform

    base = serverapp.base_url.rstrip("/")

    class SubmissionPagePolicy(OutputTransform):
        """Adds :func:`page_policy` to the formgrader's submission pages (Jupyter's own policy stays)."""

        def __init__(self, request):
            super().__init__(request)
            self.request = request
            self.wanted = request.path.startswith(f"{base}/formgrader/submissions/")

        def transform_first_chunk(self, status_code, headers, chunk, finishing):
            if self.wanted and headers.get("Content-Type", "").startswith("text/html"):
                origin = f"{self.request.protocol}://{self.request.host}"
                headers.add("Content-Security-Policy", page_policy(
                    chunk.decode("utf-8", "replace"), origin, connect=f"{origin}{base}/formgrader/api/"))
            return status_code, headers, chunk

    serverapp.web_app.transforms.insert(0, SubmissionPagePolicy)
    serverapp.log.info("aeworkbook: a Content-Security-Policy on the formgrader's submission pages")
