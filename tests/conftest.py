import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from workbook import ROOT, chapter_ids, nbgrader


@dataclass(frozen=True)
class Course:
    workbook: Path  # a copy of the workbook whose chapters/ nbgrader regenerated
    course_dir: Path  # its course working directory (gradebook, submissions, feedback)

    def nbgrader(self, *args: str):
        return nbgrader(*args, course_dir=self.course_dir, cwd=self.workbook / "autograder")


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> Course:
    """A fresh copy of the workbook with every chapter released into a new course directory."""
    workbook = tmp_path_factory.mktemp("workbook")
    for folder in ("solutions", "autograder"):
        shutil.copytree(ROOT / folder, workbook / folder)
    result = Course(workbook, tmp_path_factory.mktemp("course"))
    for chapter in chapter_ids():
        result.nbgrader("generate_assignment", chapter, "--force")
    return result
