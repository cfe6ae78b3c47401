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
Its cells are then matched to the chapter's by grade id (:func:`reconcile_cells`), so that a cell
pasted from another copy or duplicated costs that cell only, not the notebook. Symbolic links are
reported, never followed: a link to the instructor's solution would otherwise be graded as the
student's work.
When it was handed in comes from the LMS file name's ``timestamp`` group, or from
a ``timestamp.txt`` in nbgrader's own layout, ``<student>/<chapter id>/`` (as ``nbgrader
collect`` leaves it). Anywhere else a ``timestamp.txt`` may be a student's own upload
(Moodle's folder per student holds whatever the student handed in): it is ignored.
Nothing here writes to the submitted files.
"""

from __future__ import annotations

import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .catalogue import Chapter, chapter_of, nbgrader_meta
from .untrusted import printable

# nbgrader's documented example for Blackboard-style names, "<assignment>_<student>_attempt_<timestamp>_<file
# name>", read at the first "_attempt_": the LMS writes what comes before it, the student chose the file name
# after it. (nbgrader's own ``.+_(?P<student_id>\w+)_attempt_...`` matches at the last one, so a file a student
# named "x_ada_attempt_2020-01-01_ch01.ipynb" was graded as ada's, handed in on 1 January 2020.)
LMS_PATTERN = (r"(?:(?!_attempt_).)+_(?!attempt_)(?P<student_id>[^\W_]+)_attempt_(?P<timestamp>[0-9\-]+)_"
               r"(?P<file_id>.+)")
IGNORED = {"__MACOSX", ".ipynb_checkpoints", ".DS_Store", "Thumbs.db"}
TIMESTAMP = "timestamp.txt"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")
MAX_FILE_MB = 100  # a submitted file larger than this is not read (a real chapter notebook: a few MB)


class SubmissionsError(Exception):
    """The input as a whole cannot be read (missing, not a folder or zip, an unsafe archive)."""


@dataclass(frozen=True)
class Submission:
    student: str
    chapter: Chapter
    path: Path  # the file as submitted (read, never written)
    content: str = ""  # the notebook to grade: as submitted, its cells matched to the chapter's
    submitted_at: str | None = None  # when it was handed in, as the LMS or timestamp.txt wrote it


@dataclass
class Collected:
    students: list[str] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (student or "-", what happened)

    def problem(self, student: str, what: str) -> None:
        self.problems.append((printable(student), printable(what)))  # file names may hold terminal escapes


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


def hidden(name: str) -> bool:
    return name in IGNORED or name.startswith(".")


def unreadable(path: Path) -> str | None:
    """Why ``path`` is not read at all, or None for a regular file of a sane size. A symbolic link is never
    followed (a link to a solution would be graded as the student's work); a FIFO or a device would block the
    grader or never end (a shared hand-in folder can hold them); a huge file would fill its memory."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link (not followed, not graded)"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a FIFO, socket or device: not read, not graded)"
    if info.st_size > MAX_FILE_MB * 2**20:
        return f"{info.st_size / 2**20:,.0f} MB, larger than any notebook ({MAX_FILE_MB} MB): not read, not graded"
    return None


def visible_files(folder: Path, skipped: list[tuple[Path, str]]) -> list[Path]:
    """The regular files under ``folder``, without following symbolic links; what is not read goes to
    ``skipped``, with why (:func:`unreadable`)."""
    found = []
    for top, dirs, files in os.walk(folder):  # os.walk never descends into a linked folder
        top = Path(top)
        skipped += [(top / d, unreadable(top / d)) for d in dirs if not hidden(d) and (top / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if not hidden(d) and not (top / d).is_symlink())
        for name in files:
            if not hidden(name):
                why = unreadable(top / name)
                if why:
                    skipped.append((top / name, why))
                else:
                    found.append(top / name)
    return sorted(found)


def collect(folder: Path, known: list[Chapter], lms_pattern: str = LMS_PATTERN) -> Collected:
    """Every student's chapter notebooks in ``folder``, and a line for each thing that is not one."""
    found = Collected()
    per_student: dict[str, list[tuple[Path, str]]] = {}  # student -> [(file, name it was submitted under)]
    times: dict[Path, str] = {}  # an LMS file, or the folder of a timestamp.txt -> its time
    entries = sorted(p for p in folder.iterdir() if not hidden(p.name))
    for entry in entries:
        why = unreadable(entry) if entry.is_symlink() or not entry.is_dir() else None
        if why:
            found.problem("-", f"{entry.name}: {why}")
            continue
        if entry.is_dir():
            skipped: list[tuple[Path, str]] = []
            per_student.setdefault(entry.name, [])
            for f in visible_files(entry, skipped):
                if f.name == TIMESTAMP and f.parent.parent == entry and any(f.parent.name == c.id for c in known):
                    times[f.parent] = f.read_text(errors="replace").strip()
                elif f.name == TIMESTAMP:
                    found.problem(entry.name, f"{f.relative_to(entry)}: not in nbgrader's <student>/<chapter>/ "
                                  "layout, so possibly the student's own file: ignored (handed in on time)")
                else:
                    per_student[entry.name].append((f, str(f.relative_to(entry))))
            for path, why in skipped:
                found.problem(entry.name, f"{path.relative_to(entry)}: {why}")
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
        contents: dict[Path, str] = {}
        for path, name in files:
            identified = identify(student, path, name, known, found)
            if identified is None:
                continue
            chapter, nb = identified
            before = nbformat.writes(nb)
            for note in reconcile_cells(nb, chapter):
                found.problem(student, f"{name}: {note}")
            after = nbformat.writes(nb)  # graded as handed in, byte for byte, unless its cells needed matching
            contents[path] = path.read_text(encoding="utf-8") if after == before else after
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
            found.submissions.append(Submission(student, chapter, path, contents[path], stamp))
    return found


def lms_collector(pattern: str, suffix: str):
    """nbgrader's collector for ``zip_collect``, taking any file type so that strays can be reported."""
    from nbgrader.plugins import FileNameCollectorPlugin

    return FileNameCollectorPlugin(named_regexp=pattern, valid_ext=[suffix])


def identify(student: str, path: Path, name: str, known: list[Chapter], found: Collected):
    """(chapter, notebook) of one submitted file, or None with a line in ``found.problems`` saying why."""
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
        return None
    return chapter, nb


NBGRADER_ROLE = ("grade", "solution", "locked", "task", "points", "grade_id", "schema_version")


def reconcile_cells(nb, chapter: Chapter) -> list[str]:
    """Match the notebook's nbgrader cells to the chapter's, in place; return a note for each change.

    nbgrader fails a whole notebook that holds a grade id its chapter does not have (a cell pasted
    from another chapter or copy). Here such a cell takes the id of the chapter's cell that is missing
    at its place, when exactly one fits (same cell type, between the same neighbours); otherwise it
    becomes an ordinary cell. Of several cells with one id, the last one before the chapter's next
    cell keeps it (nbgrader would keep the very last). Every matched cell gets the chapter's own
    nbgrader role (graded or not, points, read-only), whatever the submitted metadata said."""
    order = [grade_id for grade_id, _ in chapter.cells]
    role = {grade_id: json.loads(meta) for grade_id, meta in chapter.cells}
    position = {grade_id: n for n, grade_id in enumerate(order)}
    notes = []

    def make_ordinary(index: int, why: str) -> None:
        del nb.cells[index].metadata["nbgrader"]  # nbgrader expects a grade id wherever this key is
        notes.append((index, f"{why}; graded as an ordinary cell"))

    tracked = [i for i, cell in enumerate(nb.cells) if "nbgrader" in cell.get("metadata", {})]
    for i in tracked:
        meta = nb.cells[i].metadata["nbgrader"]
        if not meta:
            del nb.cells[i].metadata["nbgrader"]  # empty: nothing to match (nbgrader's own deduplication leaves these)
        elif not isinstance(meta, dict):
            make_ordinary(i, "unreadable nbgrader metadata")
    tracked = [i for i in tracked if "nbgrader" in nb.cells[i].metadata]
    places: dict[str, list[int]] = {}
    for i in tracked:
        places.setdefault(str(nbgrader_meta(nb.cells[i]).get("grade_id") or ""), []).append(i)

    for grade_id, indices in places.items():
        if grade_id not in role or len(indices) == 1:
            continue
        later = [places[g][0] for g in order[position[grade_id] + 1:] if g in places and places[g][0] > indices[0]]
        before_next = [i for i in indices if not later or i < min(later)]
        keep = (before_next or indices)[-1]
        for i in indices:
            if i != keep:
                make_ordinary(i, f"a second cell with grade id {grade_id} (cell {keep + 1} keeps it)")
        places[grade_id] = [keep]

    kept = {indices[0]: grade_id for grade_id, indices in places.items() if grade_id in role}
    for grade_id in [g for g in places if g not in role]:
        for i in places[grade_id]:
            previous = max((position[g] for j, g in kept.items() if j < i), default=-1)
            following = min((position[g] for j, g in kept.items() if j > i), default=len(order))
            fits = [g for g in order[previous + 1:following] if g not in kept.values()
                    and role[g]["cell_type"] == nb.cells[i].cell_type and role[g].get("solution") == bool(nbgrader_meta(nb.cells[i]).get("solution"))]
            shown = repr(grade_id) if grade_id else "no grade id"
            if len(fits) == 1:
                kept[i] = fits[0]
                notes.append((i, f"{shown} is not a cell of {chapter.id}; graded as {fits[0]}, the cell missing there"))
            else:
                make_ordinary(i, f"{shown} is not a cell of {chapter.id}")
    for i, grade_id in kept.items():
        meta = nb.cells[i].metadata["nbgrader"]
        meta.update({key: role[grade_id][key] for key in NBGRADER_ROLE if key in role[grade_id]})
        if "points" in meta and "points" not in role[grade_id]:
            del meta["points"]
    return [f"cell {index + 1}: {what}" for index, what in sorted(notes)]


def preferred(a: tuple[Path, str], b: tuple[Path, str], chapter: Chapter):
    """Of two files for one chapter, the correctly named one, else the later one; (keep, drop)."""
    def rank(item):
        return (Path(item[1]).name == chapter.notebook, item[0].stat().st_mtime, item[1])
    return (a, b) if rank(a) >= rank(b) else (b, a)


def first_line(error: Exception) -> str:
    return next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
