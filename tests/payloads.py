"""A hostile student's markup: every way a notebook has put script into a page nbgrader made of it.

Each payload, if its script runs, retitles the page (``PWNED``), sets ``aeworkbookPwned`` and asks a
loopback listener for ``/NAME``; payloads that load something instead (an image, a stylesheet, a
refresh) ask the listener too. ``top``: a script in an ``<iframe srcdoc>`` reaches the page itself.
"""

from __future__ import annotations

import base64
import http.server
import threading
from contextlib import contextmanager

import nbformat


OBJECT = "md-object"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def script(name: str, port: int) -> str:
    return (f"fetch('http://127.0.0.1:{port}/{name}',{{mode:'no-cors'}});"
            f"top.aeworkbookPwned='{name}';top.document.title='PWNED {name}'")


def markdown(port: int) -> str:
    """Markup for a written answer or any markdown cell."""
    js = lambda name: script(name, port)  # noqa: E731
    url = f"http://127.0.0.1:{port}"
    return "\n\n".join([
        "A written answer with $\\lambda \\|h\\|_1$ in it.",
        f'<img src=x onerror="{js("md-img-onerror")}">',
        f"<script>{js('md-script')}</script>",
        f'<svg onload="{js("md-svg-onload")}"><circle r="4"></circle></svg>',
        f'<iframe srcdoc="<script>{js("md-iframe-srcdoc")}</script>"></iframe>',
        f'<details open ontoggle="{js("md-details-ontoggle")}"><summary>more</summary>x</details>',
        f'<input autofocus onfocus="{js("md-input-onfocus")}">',
        f'<object data="data:text/html;base64,{b64(f"<script>{js(OBJECT)}</script>")}"></object>',
        f'<img src="{url}/md-remote-image">',
        f"<style>@import url('{url}/md-style-import');</style>",
        f'<meta http-equiv="refresh" content="1;url={url}/md-meta-refresh">',
    ])


def outputs(port: int) -> list[dict]:
    """Display data of every kind a page might render, one MIME type each (a page shows one per output)."""
    js = lambda name: script(name, port)  # noqa: E731
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js("out-svg-onload")}">'
           f'<script>{js("out-svg-script")}</script></svg>')
    return [
        {"text/html": f'<b>html</b><img src=x onerror="{js("out-html-img")}"><script>{js("out-html-script")}</script>'},
        {"application/javascript": js("out-javascript")},
        {"image/svg+xml": svg},
        {"text/markdown": f'<img src=x onerror="{js("out-markdown-img")}">'},
        {"text/latex": f"</div><script>{js('out-latex')}</script>"},
        {"text/vnd.mermaid": f"</pre><script>{js('out-mermaid')}</script>"},
    ]


def output_cell(port: int) -> str:
    """A code cell that displays :func:`outputs` when the grader runs it."""
    return ("from IPython.display import display\n\n"
            f"for bundle in {outputs(port)!r}:\n    display(bundle, raw=True)\n")


def title(port: int) -> str:
    return f"</title><script>{script('title', port)}</script>"


def make_hostile(port: int, written_answer_ids: list[str]):
    """A Handin edit: payloads in the written answers, a markdown cell, a code cell's outputs and the title."""
    def edit(nb):
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") in written_answer_ids:
                cell.source = markdown(port)
        after_setup = next((i + 1 for i, cell in enumerate(nb.cells) if cell.cell_type == "code"), len(nb.cells))
        nb.cells.insert(after_setup, nbformat.v4.new_markdown_cell(markdown(port)))
        nb.cells.insert(after_setup, nbformat.v4.new_code_cell(output_cell(port)))
        nb.metadata["title"] = title(port)
    return edit


@contextmanager
def listener():
    """A loopback HTTP server on a free port; yields (port, the paths asked for)."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], asked
    finally:
        server.shutdown()
        server.server_close()
