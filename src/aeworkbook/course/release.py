"""Regenerate the student versions (``chapters/``) from the instructor sources (``solutions/``).

Every source is checked before anything is written, and nbgrader generates into
a scratch folder first, so a malformed source or a failing nbgrader changes
nothing in ``chapters/``.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .catalogue import (Workbook, WorkbookError, chapters, duplicate_grade_ids, is_written_answer, nbgrader_meta,
                        source_problems)
from .nbconfig import course_config


class ReleaseRefused(WorkbookError):
    """The sources are malformed; ``problems`` says where."""

    def __init__(self, problems: list[str]):
        super().__init__("cannot release: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ReleaseResult:
    stale: list[str]  # chapters whose student version differs (or is missing) from a fresh one
    orphans: list[str]  # folders in chapters/ without a source


def comparable(path: Path) -> list:
    """What a student sees of a notebook: cell types, sources and metadata (outputs are empty)."""
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.get("metadata", {})) for c in nb.cells]


def check_sources(workbook: Workbook) -> list[str]:
    """Problems in ``solutions/`` that would give a broken student version (empty when all is well)."""
    problems, notebooks = [], {}
    for path in sorted(workbook.solutions.glob("*/*.ipynb")):
        name = str(path.relative_to(workbook.root))
        try:
            notebooks[name] = nbformat.read(path, as_version=4)
        except Exception as error:  # nbformat raises several kinds for unreadable files
            problems.append(f"{name}: not a readable notebook ({error})")
            continue
        problems += source_problems(notebooks[name], name)
    return problems + duplicate_grade_ids(notebooks)


def release(workbook: Workbook, only: list[str] | None = None, check: bool = False) -> ReleaseResult:
    """Generate the student versions of ``only`` (default: every chapter) and compare them with
    ``chapters/``; unless ``check``, replace the stale ones. Raises ReleaseRefused on malformed sources."""
    problems = check_sources(workbook)
    if problems:
        raise ReleaseRefused(problems)
    known = [chapter.id for chapter in chapters(workbook.solutions)]
    unknown = sorted(set(only or []) - set(known))
    if unknown:
        raise WorkbookError(f"no such chapter: {', '.join(unknown)} (chapters: {', '.join(known)})")
    selected = only or known

    from nbgrader.apps import NbGraderAPI  # slow import: only when generating

    with tempfile.TemporaryDirectory(prefix="aeworkbook-release-") as scratch:
        fresh = Path(scratch) / "release"
        api = NbGraderAPI(config=course_config(workbook, Path(scratch) / "course", release_dir=fresh))
        for chapter in selected:
            result = api.generate_assignment(chapter, force=True, create=True)
            if not result["success"]:
                raise WorkbookError(f"nbgrader could not generate {chapter}:\n{result.get('error') or result['log']}")
        leaks = [leak for chapter in selected for leak in written_answer_leaks(fresh / chapter)]
        if leaks:
            raise WorkbookError("the student version would show: " + "; ".join(leaks))
        stale = [chapter for chapter in selected if is_stale(fresh / chapter, workbook.chapters / chapter)]
        if not check:
            for chapter in stale:
                shutil.rmtree(workbook.chapters / chapter, ignore_errors=True)
                shutil.copytree(fresh / chapter, workbook.chapters / chapter)
    existing = {p.name for p in workbook.chapters.iterdir() if p.is_dir()} if workbook.chapters.is_dir() else set()
    return ReleaseResult(stale, sorted(existing - set(known)))


def is_stale(fresh: Path, committed: Path) -> bool:
    fresh_files = sorted(p.name for p in fresh.glob("*.ipynb"))
    committed_files = sorted(p.name for p in committed.glob("*.ipynb")) if committed.is_dir() else []
    if fresh_files != committed_files:
        return True
    return any(comparable(fresh / name) != comparable(committed / name) for name in fresh_files)


def written_answer_leaks(folder: Path) -> list[str]:
    """Written answers whose model answer or rubric survived into a generated student version."""
    leaks = []
    for path in folder.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if is_written_answer(cell) and ("Model answer" in cell.source or "Rubric" in cell.source):
                leaks.append(f"{path.name}: the model answer of {nbgrader_meta(cell)['grade_id']}")
    return leaks
