"""``aeworkbook``: each user's main job in one command.

    aeworkbook validate NOTEBOOK...      students and CI: run as the grader would, exercise by exercise
    aeworkbook release [CHAPTER...]      instructors: regenerate chapters/ from solutions/ (--check: is it fresh?)
    aeworkbook grade SUBMISSIONS         instructors: grade a class, write feedback, grades CSV and a report

Exit status: 0 when all is well, 1 when a check or validation fails, 2 for
unusable input (a missing file, a malformed source, a wrong argument).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .catalogue import Workbook, WorkbookError
from .nbconfig import CELL_TIMEOUT

OK, FAILED, UNUSABLE = 0, 1, 2


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="aeworkbook", description="The autoencoder workbook's tools: each user's main job in one command.")
    main.add_argument("--workbook", type=Path, help="the workbook's folder (default: found from here)")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="run notebooks as the grader would and report each exercise")
    validate.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    validate.add_argument("--timeout", type=positive_int, default=CELL_TIMEOUT, help="seconds a cell may run")

    release = commands.add_parser("release", help="regenerate chapters/ from solutions/")
    release.add_argument("chapters", nargs="*", metavar="CHAPTER", help="chapter ids (default: all)")
    release.add_argument("--check", action="store_true", help="change nothing; exit 1 if chapters/ is stale")

    grade = commands.add_parser("grade", help="grade a class: feedback, grades CSV, report")
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                       help="a folder with a sub-folder per student, a zip of one, or an LMS bulk download")
    grade.add_argument("--course", type=Path, help="course directory for the gradebook, copies and feedback "
                       "(default: $AEWORKBOOK_COURSE_DIR or course/ in the workbook)")
    grade.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1,
                       help="students graded at a time (default: the number of cores)")
    grade.add_argument("--dask", nargs="?", const="local", metavar="SCHEDULER",
                       help="run the jobs on Dask: a local cluster of --jobs workers, or the scheduler at this "
                            "address (tcp://host:8786)")
    grade.add_argument("--db", metavar="URL", help="gradebook database URL (default: SQLite in the course "
                       "directory), e.g. postgresql://user@host/gradebook")
    grade.add_argument("--regrade-all", action="store_true", help="regrade unchanged submissions too")
    grade.add_argument("--lms-pattern", metavar="REGEX", help="file-name pattern of an LMS bulk download, with "
                       "(?P<student_id>...) and (?P<file_id>...) groups, as for nbgrader zip_collect")
    grade.add_argument("--timeout", type=positive_int, default=CELL_TIMEOUT, help="seconds a cell may run")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        workbook = Workbook(args.workbook.resolve()) if args.workbook else Workbook.find()
        return {"validate": run_validate, "release": run_release, "grade": run_grade}[args.command](args, workbook)
    except WorkbookError as error:
        print(f"aeworkbook: {error}", file=sys.stderr)
        return UNUSABLE


def run_validate(args, workbook: Workbook) -> int:
    from .validate import NotebookUnreadable, describe, validate

    status = OK
    for path in args.notebooks:
        try:
            result = validate(path, workbook, cell_timeout=args.timeout)
        except NotebookUnreadable as error:
            print(f"{error}", file=sys.stderr)
            status = max(status, UNUSABLE)
            continue
        print(describe(result))
        status = max(status, OK if result.ok else FAILED)
    return status


def run_release(args, workbook: Workbook) -> int:
    from .release import ReleaseRefused, release

    try:
        result = release(workbook, args.chapters or None, check=args.check)
    except ReleaseRefused as refused:
        print("aeworkbook release: nothing changed; fix these in solutions/ first:", file=sys.stderr)
        for problem in refused.problems:
            print(f"  {problem}", file=sys.stderr)
        return UNUSABLE
    for orphan in result.orphans:
        print(f"chapters/{orphan} has no source in solutions/ (left alone)")
    if args.check:
        for chapter in result.stale:
            print(f"stale: chapters/{chapter} differs from what solutions/{chapter} generates")
        print("chapters/ is up to date" if not result.stale else "run `aeworkbook release` to regenerate")
        return FAILED if result.stale else OK
    print("\n".join(f"regenerated chapters/{c}" for c in result.stale) or "chapters/ was already up to date")
    return OK


def run_grade(args, workbook: Workbook) -> int:
    from .grading import export_csv, grade
    from .handgrading import waiting_in_gradebook
    from .nbconfig import COURSE_ID
    from .report import score_table, write_report
    from .submissions import LMS_PATTERN, SubmissionsError

    course_dir = args.course or Path(os.environ.get("AEWORKBOOK_COURSE_DIR") or workbook.root / "course")
    try:
        run = grade(args.submissions, course_dir, workbook=workbook, jobs=args.jobs, dask=args.dask, db_url=args.db,
                    regrade_all=args.regrade_all, lms_pattern=args.lms_pattern or LMS_PATTERN,
                    cell_timeout=args.timeout, progress=not args.no_progress)
    except SubmissionsError as error:
        print(f"aeworkbook grade: {error}", file=sys.stderr)
        return UNUSABLE
    known = run.chapters
    folder = Path(run.course.course_dir)
    csv_path = export_csv(run.course, folder / "grades.csv")
    failures = [(student, c.chapter, c.notes) for student, c in run.failed]
    notes = [(o.student, c.chapter, c.notes) for o in run.outcomes for c in o.chapters if c.graded and c.notes]
    waiting = waiting_in_gradebook(run.course.db_url, COURSE_ID)
    report = write_report(folder / "report.md", run.scores, known, run.problems, failures, notes, waiting)

    print(score_table(run.scores, known, waiting))
    print()
    graded = run.graded
    per_notebook = f" ({sum(c.seconds for c in graded) / len(graded):.1f} s of work a notebook)" if graded else ""
    engine = f"Dask {args.dask}" if args.dask else f"{args.jobs} job{'s' * (args.jobs > 1)}"
    notebooks = f"{len(graded)} notebook{'s' * (len(graded) != 1)}"
    print(f"graded {notebooks} ({len(run.outcomes)} of {len(run.students)} students) in {run.seconds:.0f} s with {engine}"
          f"{per_notebook}; {run.unchanged} unchanged (not regraded); {len(failures)} could not be graded; "
          f"{len(run.problems)} problems in the submissions")
    for student, chapter, why in failures:
        print(f"  could not grade {student}, {chapter}: {'; '.join(why)}")
    for student, what in run.problems:
        print(f"  {student}: {what}")
    for student, chapter, what in notes:
        print(f"  note {student}, {chapter}: {'; '.join(what)}")
    print(f"grades:   {csv_path}\nfeedback: {folder / 'feedback'}\nreport:   {report} "
          f"(figure {report.with_suffix('.png').name})")
    return OK


if __name__ == "__main__":
    sys.exit(main())
