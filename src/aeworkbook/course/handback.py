"""Feedback back to students: a chapter's feedback packed for the LMS, and one zip per student.

``grade`` writes nbgrader's feedback to ``<course>/feedback/<student>/<chapter>/``. Packed here:

* ``returns/<chapter>/<student>.zip``: that student's feedback for the chapter, for any route (e-mail, a
  shared drive, an LMS without bulk upload); each zip is built from that student's folder alone.
* ``returns/<chapter>/moodle_feedback.zip``: Moodle's assignment bulk upload of feedback files (*Upload
  multiple feedback files in a zip*). Moodle finds the student from each folder's name, which must be as
  its own *Download all submissions* names them, ``<Full name>_<participant id>_assignsubmission_file_``:
  it splits the name at ``_`` and takes the second part as the participant id, the third and fourth as the
  plugin (mod/assign/feedback/file/importziplib.php, ``is_valid_filename_for_import``). The participant ids
  and full names come from the assignment's grading worksheet (*Download grading worksheet*: columns
  ``Identifier`` "Participant 123", ``Full name``, ``Email address``).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .catalogue import WorkbookError
from .lms import match_column, normalise, read_roster
from .submissions import TIMESTAMP

UNSAFE_IN_NAME = re.compile(r'[_/\\:*?"<>|\x00-\x1f]+')  # Moodle splits at "_"; the rest is no file name's


@dataclass
class Packed:
    students: dict[str, Path] = field(default_factory=dict)  # student -> their zip
    moodle: Path | None = None
    not_in_worksheet: list[str] = field(default_factory=list)  # students with feedback Moodle cannot be given


def feedback_files(course_dir: Path, student: str, chapter: str) -> list[Path]:
    """The files of one student's feedback for one chapter (links are not followed: only what grade wrote;
    nbgrader's copy of the submission time is left out)."""
    folder = Path(course_dir) / "feedback" / student / chapter
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and p.name != TIMESTAMP) \
        if folder.is_dir() else []


def with_feedback(course_dir: Path, chapter: str) -> list[str]:
    folders = (Path(course_dir) / "feedback").glob("*")
    return sorted(p.name for p in folders if feedback_files(course_dir, p.name, chapter))


def write_zip(path: Path, entries: list[tuple[str, Path]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in entries:
            archive.write(source, name)
    return path


def moodle_folder(full_name: str, participant: str) -> str:
    return f"{UNSAFE_IN_NAME.sub(' ', full_name).strip() or 'Student'}_{participant}_assignsubmission_file_"


def pack(course_dir: Path, chapter: str, worksheet: Path | None = None, match: str | None = None) -> Packed:
    """Zip ``chapter``'s feedback: one zip per student, and Moodle's bulk upload when given its ``worksheet``."""
    course_dir = Path(course_dir)
    students = with_feedback(course_dir, chapter)
    if not students:
        raise WorkbookError(f"{course_dir}: no feedback for {chapter} (grade the class first: aeworkbook grade)")
    out = course_dir / "returns" / chapter
    packed = Packed()
    for student in students:
        folder = course_dir / "feedback" / student / chapter
        packed.students[student] = write_zip(out / f"{student}.zip", [
            (f"{chapter}/{f.relative_to(folder)}", f) for f in feedback_files(course_dir, student, chapter)])
    if worksheet is None:
        return packed
    roster = read_roster(worksheet, "moodle")
    if "Identifier" not in roster.header or "Full name" not in roster.header:
        raise WorkbookError(f"{worksheet}: not a Moodle grading worksheet (no Identifier and Full name columns); "
                            "download it from the assignment: View all submissions > Download grading worksheet")
    by_id = roster.values(match_column(roster, students, match))
    entries = []
    for student in students:
        row = by_id.get(normalise(student))
        participant = normalise(row["Identifier"]) if row else ""
        if not participant.isdigit():
            packed.not_in_worksheet.append(student)
            continue
        folder = course_dir / "feedback" / student / chapter
        name = moodle_folder(row["Full name"], participant)
        entries += [(f"{name}/{f.relative_to(folder)}", f) for f in feedback_files(course_dir, student, chapter)]
    packed.moodle = write_zip(out / "moodle_feedback.zip", entries)
    return packed
