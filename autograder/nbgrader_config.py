"""nbgrader configuration for the autoencoder workbook.

Run nbgrader from this folder (``cd autograder``). The instructor sources are the
committed ``solutions/`` folder and the student versions go to the committed
``chapters/`` folder; everything a class produces (gradebook, submissions,
autograded copies, feedback) lives in a course working directory outside the
committed tree: ``$AEWORKBOOK_COURSE_DIR``, or ``course/`` beside this file's
folder (ignored by git) when that is not set.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

WORKBOOK = Path(__file__).resolve().parent.parent

c.CourseDirectory.course_id = "aeworkbook"
COURSE_DIR = Path(os.environ.get("AEWORKBOOK_COURSE_DIR") or WORKBOOK / "course").resolve()
COURSE_DIR.mkdir(parents=True, exist_ok=True)  # nbgrader refuses a missing root

c.CourseDirectory.root = str(COURSE_DIR)
c.CourseDirectory.source_directory = str(WORKBOOK / "solutions")
c.CourseDirectory.release_directory = str(WORKBOOK / "chapters")

# Student versions: a clear stub in answer cells.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Grading: restore deleted test cells, and give each cell time for the fast
# profile's training but stop a cell that hangs (default 30 s).
c.OverwriteCells.add_missing_cells = True
c.Execute.timeout = 60

# Grades CSV: one row per student, a column per chapter, and the total.
c.ExportApp.plugin_class = "aeworkbook.grades.ChapterGradesExport"
