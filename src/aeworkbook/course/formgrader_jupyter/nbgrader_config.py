"""nbgrader settings for the formgrader that `aeworkbook formgrader` starts (found through JUPYTER_CONFIG_PATH).

The same course as `aeworkbook grade` (``$AEWORKBOOK_COURSE_DIR``, default ``course/`` in the workbook),
except that the formgrader's Generate and Release buttons write into the course's ``release/``
folder, never into the committed ``chapters/`` (use ``aeworkbook release`` for that).
"""

import os
from pathlib import Path

from aeworkbook.course.catalogue import Workbook
from aeworkbook.course.nbconfig import course_config

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

WORKBOOK = Workbook.find()
COURSE = Path(os.environ.get("AEWORKBOOK_COURSE_DIR") or WORKBOOK.root / "course")
c.merge(course_config(WORKBOOK, COURSE, release_dir=COURSE / "release"))
