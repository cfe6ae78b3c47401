import shutil
from pathlib import Path

import pytest

from aeworkbook.course.cli import main
from workbook import ROOT
import wrong_answers


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


def pytest_collect_file(parent, file_path):
    """``tests/answers/<chapter>.yaml``: the chapter's wrong answers, graded as the grader grades them.
    One collector per chapter (one kernel each), so that ``--dist loadfile`` spreads the chapters."""
    if file_path.suffix == ".yaml" and file_path.parent == wrong_answers.ANSWERS:
        return WrongAnswerFile.from_parent(parent, path=file_path)


class WrongAnswerFile(pytest.File):
    def collect(self):
        from workbook import exercises
        self.graded = None
        unguarded = [kind for kind in wrong_answers.KINDS if kind not in wrong_answers.GUARDED_TRICKS]
        for exercise in exercises(self.path.stem):
            yield WrongAnswerItem.from_parent(self, name=exercise.answer_id, kinds=unguarded)
        for trick in wrong_answers.GUARDED_TRICKS:
            yield WrongAnswerItem.from_parent(self, name=trick, kinds=(trick,))

    def run(self) -> wrong_answers.ChapterRun:
        """Every candidate of the chapter, graded once (the first item asks; the others reuse it)."""
        if self.graded is None:
            from workbook import source_notebook, student_notebook
            chapter = self.path.stem
            try:
                self.graded = wrong_answers.run_chapter(chapter, source_notebook(chapter), student_notebook(chapter),
                                                        wrong_answers.read_answers(chapter))
            except Exception as error:  # a dead or stuck kernel: every item reports it, none runs it again
                self.graded = error
        if isinstance(self.graded, Exception):
            raise RuntimeError(f"{self.path.stem}: grading the candidates stopped: {self.graded}") from self.graded
        return self.graded


class WrongAnswerItem(pytest.Item):
    def __init__(self, *, kinds, **kwargs):
        super().__init__(**kwargs)
        self.kinds = kinds

    def runtest(self):
        run = self.parent.run()
        mine = [g for g in run.results if g.candidate.kind in self.kinds
                and (g.candidate.answer_id == self.name or self.name in wrong_answers.GUARDED_TRICKS)]
        self.user_properties.append(("chapter_seconds", round(run.seconds, 1)))
        assert mine, f"{run.chapter}: nothing graded for {self.name}"
        problems = run.errors + [g.problem for g in mine if g.problem]
        assert not problems, f"{run.chapter}:\n  " + "\n  ".join(problems)

    def repr_failure(self, excinfo):
        return str(excinfo.value) if excinfo.errisinstance(AssertionError) else super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.path.stem}::{self.name}"
