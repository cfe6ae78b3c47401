import shutil
from pathlib import Path

import pytest

from aeworkbook.course.cli import main
from workbook import ROOT


@pytest.fixture
def aeworkbook(capsys):
    """Run the ``aeworkbook`` command in this process; return (exit status, stdout, stderr)."""
    def run(*args):
        status = main([str(arg) for arg in args])
        out, err = capsys.readouterr()
        return status, out, err
    return run


@pytest.fixture
def workbook_copy(tmp_path) -> Path:
    """A scratch copy of the workbook's sources, student versions and nbgrader configuration."""
    for folder in ("solutions", "chapters", "autograder"):
        shutil.copytree(ROOT / folder, tmp_path / "workbook" / folder)
    return tmp_path / "workbook"
