"""The workbook's nbgrader configuration, in one place.

``autograder/nbgrader_config.py`` loads it for instructors who run nbgrader by
hand; the ``aeworkbook`` command builds it for each course it grades.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nbgrader.converters import Autograde, GenerateFeedback
from traitlets.config import Config

from .catalogue import Workbook
from .execute import GraderExecute
from .feedback import HideHiddenTests
from .late import POLICY_FILE
from .sandbox import Limits
from .webpages import configure_pages

COURSE_ID = "aeworkbook"
CELL_TIMEOUT = 60  # seconds: the fast profile's slowest cell takes about 10 s
OUTPUT_LIMIT = 4_000_000  # bytes of output kept per graded notebook: a solved chapter's prints and figures take
# 0.3 to 1.0 MB (benchmarks/RESULTS.md); at 1 MB chapter 8's last figures were cut


def put_tools_on_path() -> None:
    """nbgrader runs ``alembic`` (and kernels run ``python``) from PATH: make them this environment's,
    even when the environment is not activated."""
    tools = str(Path(sys.executable).parent)
    if tools not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([tools, os.environ.get("PATH", "")])


def default_of(converter, trait: str) -> list:
    """nbgrader's own list of preprocessors, to replace or extend one step of it."""
    return list(converter.class_traits()[trait].default())


def sqlite_url(course_dir: Path) -> str:
    # A busy timeout lets parallel graders wait for each other's short writes instead of failing.
    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}?timeout=60"


def course_config(workbook: Workbook, course_dir: Path, *, release_dir: Path | None = None,
                  db_url: str | None = None, cell_timeout: int = CELL_TIMEOUT, sandbox: bool = True,
                  limits: Limits = Limits(), output_limit: int = OUTPUT_LIMIT,
                  reveal_hidden_tests: bool = False) -> Config:
    """nbgrader settings for ``course_dir`` (gradebook, submissions, autograded copies, feedback).

    The sources are ``solutions/``; student versions go to ``release_dir``
    (``chapters/`` by default). Autograding runs each kernel through :class:`GraderExecute`: in the
    sandbox with ``limits`` (unless ``sandbox`` is off), the guard before every test cell, at most
    ``output_limit`` bytes of output kept. Feedback hides hidden tests unless ``reveal_hidden_tests``.
    """
    put_tools_on_path()
    c = Config()
    course_dir = Path(course_dir).resolve()
    course_dir.mkdir(parents=True, exist_ok=True)  # nbgrader refuses a missing root
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.root = str(course_dir)
    c.CourseDirectory.source_directory = str(workbook.solutions)
    c.CourseDirectory.release_directory = str(release_dir or workbook.chapters)
    c.CourseDirectory.db_url = db_url or sqlite_url(course_dir)
    # Student versions: a clear stub in answer cells.
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    # Grading: restore deleted test cells, and stop a cell that hangs.
    c.OverwriteCells.add_missing_cells = True
    c.Execute.timeout = cell_timeout
    c.Autograde.autograde_preprocessors = [GraderExecute, *default_of(Autograde, "autograde_preprocessors")[1:]]
    c.GraderExecute.sandbox = sandbox
    c.GraderExecute.output_limit = output_limit
    c.SandboxedKernelManager.memory_mb = limits.memory_mb
    c.SandboxedKernelManager.file_size_mb = limits.file_size_mb
    c.SandboxedKernelManager.tmp_mb = limits.tmp_mb
    c.SandboxedKernelManager.threads = limits.threads
    c.SandboxedKernelManager.processes = limits.processes
    c.GraderExecute.notebook_timeout = limits.notebook_timeout
    if not reveal_hidden_tests:
        c.GenerateFeedback.preprocessors = [*default_of(GenerateFeedback, "preprocessors"), HideHiddenTests]
    # Pages made of a student's notebook (the formgrader's, the feedback) run none of it (webpages.py).
    configure_pages(c)
    # Late work: the course's policy (deadlines.toml, see late.py) through nbgrader's late-submission plugin.
    c.AssignLatePenalties.plugin_class = "aeworkbook.course.late.LatePenalty"
    c.LatePenalty.policy_file = str(course_dir / POLICY_FILE)
    # Grades CSV: one row per student, a column per chapter, and the total.
    c.ExportApp.plugin_class = "aeworkbook.course.grades.ChapterGradesExport"
    return c
