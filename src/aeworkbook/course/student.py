"""The student's working copy: chapters to edit that survive course updates, and JupyterLab set up for them.

``chapters/`` is generated and committed; a student who edits it there gets a conflict
from the next ``git pull`` that corrects a chapter. ``fetch`` copies each chapter into
a working folder (``work/`` in the workbook, ignored by git) instead. Fetching again
never loses an answer: a copy whose chapter was not re-released is left alone; when the
chapter changed, the new version is written with the student's answer cells carried
over (matched by nbgrader grade id), and the old copy is kept in ``.backup/``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .catalogue import Workbook, chapters, nbgrader_meta

STUDENT_JUPYTER = Path(__file__).with_name("student_jupyter")  # Jupyter settings for students (see its README)
NEW, UP_TO_DATE, UPDATED = "new", "up to date", "updated"


@dataclass(frozen=True)
class Fetched:
    chapter: str
    path: Path
    what: str  # NEW, UP_TO_DATE or UPDATED
    backup: Path | None = None


def release_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def fetch(workbook: Workbook, work: Path) -> list[Fetched]:
    """Bring every chapter of ``chapters/`` into ``work``; see the module's doc."""
    done = []
    for chapter in chapters(workbook.chapters):
        released = workbook.chapters / chapter.id / chapter.notebook
        digest = release_digest(released)
        copy = work / chapter.id / chapter.notebook
        fresh = nbformat.read(released, as_version=4)
        fresh.metadata["aeworkbook"] = {"release": digest}
        if not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(fresh, copy)
            done.append(Fetched(chapter.id, copy, NEW))
            continue
        mine = nbformat.read(copy, as_version=4)
        if mine.metadata.get("aeworkbook", {}).get("release") == digest:
            done.append(Fetched(chapter.id, copy, UP_TO_DATE))
            continue
        backup = copy.parent / ".backup" / f"{copy.stem}-{time.strftime('%Y%m%d-%H%M%S')}.ipynb"
        backup.parent.mkdir(exist_ok=True)
        shutil.copy2(copy, backup)
        nbformat.write(carry_answers(mine, fresh), copy)
        done.append(Fetched(chapter.id, copy, UPDATED, backup))
    return done


def carry_answers(mine, fresh):
    """``fresh`` with the answer cells (code and written) of ``mine`` put in, matched by grade id."""
    answers = {nbgrader_meta(c).get("grade_id"): c for c in mine.cells if nbgrader_meta(c).get("solution")}
    for cell in fresh.cells:
        old = answers.get(nbgrader_meta(cell).get("grade_id"))
        if nbgrader_meta(cell).get("solution") and old is not None and old.cell_type == cell.cell_type:
            cell.source = old.source
    return fresh


def describe(fetched: list[Fetched], work: Path) -> str:
    lines = [f"working copies in {work}:"]
    for f in fetched:
        line = f"  {f.chapter:<22} {f.what}"
        if f.backup:
            line += f" (the chapter changed: new version with your answers; your old copy: {f.backup.relative_to(work)})"
        lines.append(line)
    return "\n".join(lines)


def lab_environment(fast: bool) -> dict:
    """The environment JupyterLab runs in for a student: the student settings first on Jupyter's config path."""
    env = dict(os.environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in [str(STUDENT_JUPYTER), env.get("JUPYTER_CONFIG_PATH")] if p)
    if fast:
        env["AEWORKBOOK_PROFILE"] = "fast"
    return env
