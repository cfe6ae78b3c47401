"""The class's grades in the files an LMS imports: Canvas's gradebook CSV and Moodle's grade import CSV.

Both start from a roster the instructor exports from the LMS, which says who the LMS's students are and
how it names them; the workbook's student ids (from the submissions' folder or file names) are found in
one of its columns (``--match``, else the column that holds most of them).

Canvas (*Grades > Export*, then *Import*). The export has the columns ``Student, ID, SIS User ID, SIS Login
ID, Section``, one per assignment named ``<name> (<assignment id>)``, then read-only totals, and a second row
``Points Possible``. An import needs a student column (Student, ID or SIS User ID), SIS Login ID, Section and
the assignment columns; a column whose name is no assignment's creates one, and an imported score replaces
the one in the gradebook (Ohio State's Canvas guide, "Import a CSV file to Carmen grades",
https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades;
the export's columns: VCU's "Gradebook Action Menu" guide,
https://ts.vcu.edu/askit/teaching-and-learning/canvas/faculty/grading-faculty/gradebook-action-menu-faculty/).
So the file written here has exactly those five columns from the roster, a column per chapter (named as
the roster names that assignment, so that Canvas updates it, else the chapter id) and the Points Possible
row, and none of the read-only totals.

Moodle (*Grades > Import > CSV file*): any column can identify the user, mapped at import to the user's
id number, username or email, and every other column is mapped to a grade item or to an item's feedback
(Moodle's gradeimport_csv, grade/import/csv/classes/load_data.php, map_user_data_with_value). The roster is
Moodle's grade export (*Export > Plain text file*: First name, Last name, ID number, ..., Email address) or
an assignment's grading worksheet (Identifier "Participant N", Full name, Email address). The file written
here has the roster's identifying columns (ID number, Username, Email address, whichever it has), a column
per chapter, and a feedback column per chapter that says what was late or still provisional.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from .catalogue import WorkbookError
from .grades import ChapterGrade

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS = "    Points Possible"  # the first cell of Canvas's second row, spaces included
CANVAS_ASSIGNMENT = re.compile(r"^(?P<name>.*) \((?P<id>\d+)\)$")
MOODLE_IDENTITY = ["ID number", "Username", "Email address"]
MISSING = {"empty": "", "zero": "0"}


class ProvisionalRefused(WorkbookError):
    """Some grades include written answers not yet graded by hand, and --allow-provisional was not given."""


@dataclass
class Roster:
    path: Path
    header: list[str]
    students: list[dict[str, str]]

    def values(self, column: str) -> dict[str, dict[str, str]]:
        """{normalised value of ``column``: roster row}."""
        return {normalise(row.get(column, "")): row for row in self.students if normalise(row.get(column, ""))}


@dataclass
class Export:
    path: Path
    written: int  # roster students in the file
    not_in_roster: list[str] = field(default_factory=list)  # graded students the roster does not know
    not_handed_in: list[str] = field(default_factory=list)  # roster students without any graded chapter
    provisional: list[str] = field(default_factory=list)  # "student, chapter: n written answers to grade"
    unlisted: Path | None = None  # the not_in_roster students' grades


def normalise(value: str) -> str:
    """Ids compare case-blind, and Moodle's worksheet writes "Participant 123" for a download's 123."""
    value = value.strip().lower()
    return value.removeprefix("participant ").strip()


def read_roster(path: Path, lms: str) -> Roster:
    """The students of a roster exported from ``lms`` ("canvas" or "moodle")."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # Excel and Moodle may add a byte-order mark
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise WorkbookError(f"{path}: cannot read the roster ({error})") from None
    if not rows:
        raise WorkbookError(f"{path}: the roster is empty")
    header = [h.strip() for h in rows[0]]
    records = [dict(zip(header, row)) for row in rows[1:] if any(cell.strip() for cell in row)]
    if lms == "canvas":
        missing = [c for c in CANVAS_IDENTITY if c not in header]
        if missing:
            raise WorkbookError(f"{path}: not a Canvas gradebook export (no column {', '.join(missing)}); "
                                "export it from Canvas's Grades page: Export > Export Entire Gradebook")
        # Points Possible (and Manual Posting) rows have no student id.
        records = [r for r in records if r.get("ID", "").strip()]
    elif not any(c in header for c in MOODLE_IDENTITY + ["Identifier"]):
        raise WorkbookError(f"{path}: not a Moodle export (no column {', '.join(MOODLE_IDENTITY)} or Identifier); "
                            "export it from Moodle's Grades page: Export > Plain text file")
    return Roster(Path(path), header, records)


def match_column(roster: Roster, students: list[str], column: str | None) -> str:
    """The roster column holding the workbook's student ids: ``column``, or the one that holds most."""
    wanted = {normalise(s) for s in students}
    if column is not None:
        if column not in roster.header:
            raise WorkbookError(f"{roster.path}: no column {column!r} (columns: {', '.join(roster.header)})")
        if not wanted & set(roster.values(column)):
            raise WorkbookError(f"{roster.path}: column {column!r} holds none of the workbook's student ids")
        return column
    counts = {c: len(wanted & set(roster.values(c))) for c in roster.header}
    best = max(counts, key=counts.get, default=None)
    if best is None or counts[best] == 0:
        raise WorkbookError(f"{roster.path}: no column holds the workbook's student ids ({', '.join(students[:3])}"
                            f"{', ...' if len(students) > 3 else ''}); name the one that should with --match")
    return best


def check_provisional(grades: dict[str, dict[str, ChapterGrade]], allow: bool) -> list[str]:
    """Each chapter grade that still waits for a hand grade; refused unless ``allow``."""
    waiting = [f"{student}, {chapter}: {g.to_grade_by_hand} written answer{'s' * (g.to_grade_by_hand != 1)} "
               "to grade by hand" for student, chapters in sorted(grades.items())
               for chapter, g in sorted(chapters.items()) if g.to_grade_by_hand]
    if waiting and not allow:
        raise ProvisionalRefused(
            f"nothing exported: {len(waiting)} chapter grade{'s' * (len(waiting) != 1)} still count written answers "
            "not graded by hand as 0 (grade them with `aeworkbook answers CHAPTER` or the formgrader, or export "
            "anyway with --allow-provisional):\n  " + "\n  ".join(waiting))
    return waiting


def note(grade: ChapterGrade) -> str:
    """What an LMS feedback column says of a chapter grade: lateness, and whether it is provisional."""
    parts = [grade.late] if grade.late else []
    if grade.to_grade_by_hand:
        parts.append(f"provisional: {grade.to_grade_by_hand} written answer{'s' * (grade.to_grade_by_hand != 1)} "
                     "not yet graded by hand (counted 0)")
    return "; ".join(parts)


def export(lms: str, roster_path: Path, to: Path, grades: dict[str, dict[str, ChapterGrade]],
           maxima: dict[str, float], *, missing: str = "empty", allow_provisional: bool = False,
           match: str | None = None) -> Export:
    """Write ``to``, the import file for ``lms``: a row per roster student, a column per chapter of ``maxima``
    (chapter -> points possible). ``grades``: {workbook student: {chapter: grade}}, as grades.class_grades
    reads them. A roster student's chapter not handed in is empty or 0 (``missing``); a graded student the
    roster does not know is listed in ``Export.not_in_roster`` and in a file beside ``to``, not dropped."""
    roster = read_roster(roster_path, lms)
    chapters = list(maxima)
    grades = {s: {c: g for c, g in chapters_.items() if c in maxima} for s, chapters_ in grades.items()}
    provisional = check_provisional(grades, allow_provisional)
    column = match_column(roster, list(grades), match)
    by_id = roster.values(column)
    workbook_id = {normalise(s): s for s in grades}
    to.parent.mkdir(parents=True, exist_ok=True)

    def cell(student: str | None, chapter: str) -> str:
        grade = grades.get(student, {}).get(chapter) if student else None
        return MISSING[missing] if grade is None else f"{round(grade.grade, 2):g}"

    result = Export(to, 0, provisional=provisional)
    with open(to, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        if lms == "canvas":
            named = {m["name"]: h for h in roster.header if (m := CANVAS_ASSIGNMENT.match(h))}
            writer.writerow(CANVAS_IDENTITY + [named.get(c, c) for c in chapters])
            writer.writerow([CANVAS_POINTS, "", "", "", ""] + [f"{maxima[c]:g}" for c in chapters])
            identity = CANVAS_IDENTITY
        else:
            identity = [c for c in MOODLE_IDENTITY if c in roster.header] or [column]
            writer.writerow(identity + chapters + [f"{c} feedback" for c in chapters])
        for row in roster.students:
            student = workbook_id.get(normalise(row.get(column, "")))
            if student is None or not grades.get(student):
                result.not_handed_in.append(row.get(column, ""))
            values = [row.get(c, "") for c in identity] + [cell(student, c) for c in chapters]
            if lms == "moodle":
                values += [note(grades[student][c]) if student and c in grades[student] else "" for c in chapters]
            writer.writerow(values)
            result.written += 1
    result.not_in_roster = sorted(s for s in grades if normalise(s) not in by_id)
    if result.not_in_roster:
        result.unlisted = to.with_name(to.stem + ".not_in_roster.csv")
        with open(result.unlisted, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["student_id", *chapters])
            for student in result.not_in_roster:
                writer.writerow([student, *(cell(student, c) for c in chapters)])
    return result


def describe(result: Export, lms: str) -> str:
    lines = [f"{lms}: {result.path} ({result.written} roster students)"]
    if result.not_handed_in:
        lines.append(f"  in the roster, nothing graded: {', '.join(result.not_handed_in)}")
    if result.not_in_roster:
        lines.append(f"  in the workbook but NOT in the roster (not in the import file; their grades are in "
                     f"{result.unlisted}): {', '.join(result.not_in_roster)}")
    if result.provisional:
        lines.append("  PROVISIONAL (--allow-provisional): written answers not yet graded by hand count 0 in:\n    "
                     + "\n    ".join(result.provisional))
    return "\n".join(lines)
