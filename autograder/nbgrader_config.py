"""nbgrader configuration for the autoencoder workbook.

Run nbgrader from this folder (``cd autograder``). The instructor sources are the
committed ``solutions/`` folder and the student versions go to the committed
``chapters/`` folder; everything a class produces (gradebook, submissions,
autograded copies, feedback) lives in a course working directory outside the
committed tree: ``$AEWORKBOOK_COURSE_DIR``, or ``course/`` beside this file's
folder (ignored by git) when that is not set. The settings themselves live in
``aeworkbook.course.nbconfig``, which the ``aeworkbook`` command uses too.
"""

import os
from pathlib import Path

from aeworkbook.course.catalogue import Workbook
from aeworkbook.course.nbconfig import course_config

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

WORKBOOK = Workbook(Path(__file__).resolve().parent.parent)
c.merge(course_config(WORKBOOK, Path(os.environ.get("AEWORKBOOK_COURSE_DIR") or WORKBOOK.root / "course")))
