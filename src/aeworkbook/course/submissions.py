"""Find a class's chapter notebooks in what an instructor hands to ``aeworkbook grade``.

Three forms are understood:

- a folder with one sub-folder per student, holding that student's notebooks
  (in chapter folders or flat);
- a zip archive of such a folder;
- an LMS bulk download (a folder or zip of flat files whose names carry the
  student id), read with nbgrader's own ``FileNameCollectorPlugin`` as
  ``nbgrader zip_collect`` does.

A notebook is matched to its chapter by its file name, or failing that by the
graded cells it carries (LMSs rename files: ``ch01_simple_sparse (1).ipynb``).
When it was handed in comes from the LMS file name's ``timestamp`` group, or from
a ``timestamp.txt`` in nbgrader's own layout, ``<student>/<chapter id>/`` (as ``nbgrader
collect`` leaves it). Anywhere else a ``timestamp.txt`` may be a student's own upload
(Moodle's folder per student holds whatever the student handed in): it is ignored.
Nothing here writes to the submitted files.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .catalogue import Chapter, chapter_of

# nbgrader's documented example for Blackboard-style names:
# "<assignment>_<student>_attempt_<timestamp>_<file name>"
LMS_PATTERN = r".+_(?P<student_id>\w+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>.+)"
IGNORED = {"__MACOSX", ".ipynb_checkpoints", ".DS_Store", "Thumbs.db"}
TIMESTAMP = "timestamp.txt"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")


class SubmissionsError(Exception):
    """The input as a whole cannot be read (missing, not a folder or zip, an unsafe archive)."""


@dataclass(frozen=True)
class Submission:
    student: str
    chapter: Chapter
    path: Path  # the file as submitted (read, never written)
    submitted_at: str | None = None  # when it was handed in, as the LMS or timestamp.txt wrote it


@dataclass
class Collected:
    students: list[str] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (student or "-", what happened)

    def problem(self, student: str, what: str) -> None:
        self.problems.append((student, what))


def unpack(path: Path, scratch: Path) -> Path:
    """The folder to read: ``path`` itself, or a zip archive extracted into ``scratch``."""
    if not path.exists():
        raise SubmissionsError(f"{path}: no such folder or zip archive")
    if path.is_dir():
        return path
    if not zipfile.is_zipfile(path):
        raise SubmissionsError(f"{path}: neither a folder nor a zip archive")
    target = scratch / "extracted"
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("/") or ".." in Path(name).parts:
                raise SubmissionsError(f"{path}: unsafe path in the archive: {name}")
        archive.extractall(target)
    entries = [p for p in target.iterdir() if p.name not in IGNORED]
    # A zip of the class folder itself holds that one folder: read inside it.
    if len(entries) == 1 and entries[0].is_dir() and not any(entries[0].glob("*.ipynb")):
        return entries[0]
    return target


def visible_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part in IGNORED or part.startswith(".") for part in p.relative_to(folder).parts))


def collect(folder: Path, known: list[Chapter], lms_pattern: str = LMS_PATTERN) -> Collected:
    """Every student's chapter notebooks in ``folder``, and a line for each thing that is not one."""
    found = Collected()
    per_student: dict[str, list[tuple[Path, str]]] = {}  # student -> [(file, name it was submitted under)]
    times: dict[Path, str] = {}  # an LMS file, or the folder of a timestamp.txt -> its time
    entries = sorted(p for p in folder.iterdir() if p.name not in IGNORED and not p.name.startswith("."))
    for entry in entries:
        if entry.is_dir():
            per_student.setdefault(entry.name, [])
            for f in visible_files(entry):
                if f.name == TIMESTAMP and f.parent.parent == entry and any(f.parent.name == c.id for c in known):
                    times[f.parent] = f.read_text(errors="replace").strip()
                elif f.name == TIMESTAMP:
                    found.problem(entry.name, f"{f.relative_to(entry)}: not in nbgrader's <student>/<chapter>/ "
                                  "layout, so possibly the student's own file: ignored (handed in on time)")
                else:
                    per_student[entry.name].append((f, str(f.relative_to(entry))))
            continue
        info = lms_collector(lms_pattern, entry.suffix).collect(entry.name)
        if info is None:
            found.problem("-", f"{entry.name}: not in a student folder and not an LMS file name (ignored)")
        else:
            per_student.setdefault(info["student_id"], []).append((entry, info["file_id"]))
            if info.get("timestamp"):
                times[entry] = info["timestamp"]

    for student, files in sorted(per_student.items()):
        if not STUDENT_ID.match(student):
            found.problem(student, "not a usable student id (letters, digits, _ . @ + -); folder ignored")
            continue
        found.students.append(student)
        if not files:
            found.problem(student, "empty folder: nothing to grade")
        chosen: dict[str, tuple[Path, str]] = {}
        for path, name in files:
            chapter = identify(student, path, name, known, found)
            if chapter is None:
                continue
            if chapter.id in chosen:
                keep, drop = preferred(chosen[chapter.id], (path, name), chapter)
                found.problem(student, f"two notebooks for {chapter.id}: graded {keep[1]}, ignored {drop[1]}")
                chosen[chapter.id] = keep
            else:
                chosen[chapter.id] = (path, name)
        for chapter_id, (path, name) in sorted(chosen.items()):
            chapter = next(ch for ch in known if ch.id == chapter_id)
            if Path(name).name != chapter.notebook:
                found.problem(student, f"{name}: graded as {chapter.id} (expected the name {chapter.notebook})")
            stamp = times.get(path) or times.get(path.parent)
            found.submissions.append(Submission(student, chapter, path, stamp))
    return found


def lms_collector(pattern: str, suffix: str):
    """nbgrader's collector for ``zip_collect``, taking any file type so that strays can be reported."""
    from nbgrader.plugins import FileNameCollectorPlugin

    return FileNameCollectorPlugin(named_regexp=pattern, valid_ext=[suffix])


def identify(student: str, path: Path, name: str, known: list[Chapter], found: Collected) -> Chapter | None:
    """The chapter of one submitted file, or None with a line in ``found.problems`` saying why."""
    if path.suffix != ".ipynb":
        found.problem(student, f"{name}: not a notebook (ignored)")
        return None
    by_name = next((ch for ch in known if Path(name).name in (ch.notebook, f"{ch.id}.ipynb")), None)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:  # JSON, schema or encoding errors
        chapter = f"; {by_name.id} scores 0" if by_name else ""
        found.problem(student, f"{name}: not a valid notebook ({first_line(error)}){chapter}")
        return None
    chapter = chapter_of(nb, known) or by_name
    if chapter is None:
        found.problem(student, f"{name}: not one of the workbook's chapter notebooks (ignored)")
    return chapter


def preferred(a: tuple[Path, str], b: tuple[Path, str], chapter: Chapter):
    """Of two files for one chapter, the correctly named one, else the later one; (keep, drop)."""
    def rank(item):
        return (Path(item[1]).name == chapter.notebook, item[0].stat().st_mtime, item[1])
    return (a, b) if rank(a) >= rank(b) else (b, a)


def first_line(error: Exception) -> str:
    return next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
