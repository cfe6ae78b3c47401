"""``aeworkbook``: each user's main job in one command.

    aeworkbook lab [--fast]              students: copy the chapters to work/ (answers survive updates) and
                                         open JupyterLab there
    aeworkbook fetch                     students: the same copy, without starting JupyterLab
    aeworkbook validate NOTEBOOK...      students and CI: run as the grader would, exercise by exercise
    aeworkbook release [CHAPTER...]      instructors: regenerate chapters/ from solutions/ (--check: is it fresh?)
    aeworkbook grade SUBMISSIONS         instructors: grade a class, write feedback, grades CSV and a report
    aeworkbook answers CHAPTER [Q]       instructors: a written answer for the whole class beside its rubric;
                                         --scores FILE enters the points given by hand

Exit status: 0 when all is well, 1 when a check or validation fails, 2 for
unusable input (a missing file, a malformed source, a wrong argument).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from .catalogue import Workbook, WorkbookError
from .nbconfig import CELL_TIMEOUT, OUTPUT_LIMIT
from .sandbox import Limits, SandboxUnavailable

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

    for name, purpose in (("lab", "students: bring the chapters into your working folder and open JupyterLab there"),
                          ("fetch", "students: bring the chapters into your working folder (never loses an answer)")):
        command = commands.add_parser(name, help=purpose)
        command.add_argument("--to", type=Path, metavar="FOLDER",
                             help="the working folder (default: $AEWORKBOOK_WORK_DIR or work/ in the workbook)")
        if name == "lab":
            command.add_argument("--fast", action="store_true", help="the fast profile (small data, few epochs)")
            command.epilog = "Other options are passed on to `jupyter lab` (e.g. --port=8890 --no-browser)."

    validate = commands.add_parser("validate", help="run notebooks as the grader would and report each exercise")
    validate.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    validate.add_argument("--timeout", type=positive_int, default=CELL_TIMEOUT, help="seconds a cell may run")
    validate.add_argument("--sandbox", action="store_true",
                          help="run in the grader's sandbox, exactly as `grade` does (for course maintainers)")

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
    safety = grade.add_argument_group("isolation and limits of each student's kernel")
    safety.add_argument("--no-sandbox", action="store_true",
                        help="run students' code WITHOUT isolation, with your files and network in reach")
    safety.add_argument("--memory", type=positive_int, default=Limits.memory_mb, metavar="MB",
                        help=f"address space of a kernel (default {Limits.memory_mb})")
    safety.add_argument("--file-size", type=positive_int, default=Limits.file_size_mb, metavar="MB",
                        help=f"largest file a kernel may write (default {Limits.file_size_mb})")
    safety.add_argument("--output-limit", type=positive_int, default=OUTPUT_LIMIT // 1000, metavar="KB",
                        help=f"output kept per notebook; the rest is cut (default {OUTPUT_LIMIT // 1000})")
    safety.add_argument("--reveal-hidden-tests", action="store_true",
                        help="show hidden tests and their tracebacks in the feedback (hidden by default)")

    formgrader = commands.add_parser(
        "formgrader", help="instructors: nbgrader's formgrader for the course, from a server root that holds it",
        epilog="Other options are passed on to `jupyter lab` (e.g. --port=8890 --no-browser).")
    formgrader.add_argument("--course", type=Path, help="course directory (as for grade)")

    answers = commands.add_parser("answers", help="grade written answers by hand: export one question's answers "
                                  "beside its rubric, import the points (--scores)")
    answers.add_argument("chapter", metavar="CHAPTER", help="chapter id (ch01_simple_sparse) or its prefix (ch01)")
    answers.add_argument("question", nargs="?", metavar="QUESTION",
                         help="the written answer's number or grade id (default: every one in the chapter)")
    answers.add_argument("--scores", type=Path, metavar="CSV", help="the exported CSV with points filled in: "
                         "enter them in the gradebook as manual grades")
    answers.add_argument("--course", type=Path, help="course directory (as for grade)")
    answers.add_argument("--db", metavar="URL", help="gradebook database URL (as for grade)")
    return main


def main(argv: list[str] | None = None) -> int:
    args, extra = parser().parse_known_args(argv)
    if extra and args.command not in ("lab", "formgrader"):
        parser().error(f"unrecognized arguments: {' '.join(extra)}")
    args.jupyter_args = extra
    try:
        workbook = Workbook.at(args.workbook) if args.workbook else Workbook.find()
        return {"validate": run_validate, "release": run_release, "grade": run_grade,
                "answers": run_answers, "fetch": run_fetch, "lab": run_fetch,
                "formgrader": run_formgrader}[args.command](args, workbook)
    except WorkbookError as error:
        print(f"aeworkbook: {error}", file=sys.stderr)
        return UNUSABLE


def run_validate(args, workbook: Workbook) -> int:
    from .validate import NotebookUnreadable, describe, validate

    status = OK
    for path in args.notebooks:
        try:
            result = validate(path, workbook, cell_timeout=args.timeout, sandbox=args.sandbox)
        except (NotebookUnreadable, SandboxUnavailable) as error:
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


UNSAFE_BANNER = ("WARNING: graded WITHOUT the sandbox (--no-sandbox): students' code ran as you, with your files, "
                 "the gradebook and the network in reach. These grades are only as trustworthy as the code.")


def isolation(run) -> str:
    if not run.course.sandbox:
        return UNSAFE_BANNER
    return f"isolation: every kernel ran in the bubblewrap sandbox ({run.course.limits.describe()})"


def run_grade(args, workbook: Workbook) -> int:
    from .grading import export_csv, flagged_in_gradebook, grade
    from .handgrading import waiting_in_gradebook
    from .nbconfig import COURSE_ID
    from .report import score_table, write_report
    from .submissions import LMS_PATTERN, SubmissionsError

    course_dir = course_folder(args, workbook)
    try:
        run = grade(args.submissions, course_dir, workbook=workbook, jobs=args.jobs, dask=args.dask, db_url=args.db,
                    regrade_all=args.regrade_all, lms_pattern=args.lms_pattern or LMS_PATTERN,
                    cell_timeout=args.timeout, progress=not args.no_progress, sandbox=not args.no_sandbox,
                    limits=Limits(memory_mb=args.memory, file_size_mb=args.file_size),
                    output_limit=args.output_limit * 1000, reveal_hidden_tests=args.reveal_hidden_tests)
    except (SubmissionsError, SandboxUnavailable) as error:
        print(f"aeworkbook grade: nothing was graded.\n{error}", file=sys.stderr)
        return UNUSABLE
    known = run.chapters
    folder = Path(run.course.course_dir)
    csv_path = export_csv(run.course, folder / "grades.csv")
    failures = [(student, c.chapter, c.notes) for student, c in run.failed]
    notes = [(o.student, c.chapter, c.notes) for o in run.outcomes for c in o.chapters if c.graded and c.notes]
    waiting = waiting_in_gradebook(run.course.db_url, COURSE_ID)
    flagged = flagged_in_gradebook(run.course, known)
    report = write_report(folder / "report.md", run.scores, known, run.problems, failures, notes,
                          isolation=isolation(run), waiting=waiting, flagged=flagged)

    print(score_table(run.scores, known, waiting))
    print()
    if not run.course.sandbox:
        print(UNSAFE_BANNER)
    graded = run.graded
    per_notebook = f" ({sum(c.seconds for c in graded) / len(graded):.1f} s of work a notebook)" if graded else ""
    engine = f"Dask {args.dask}" if args.dask else f"{args.jobs} job{'s' * (args.jobs > 1)}"
    notebooks = f"{len(graded)} notebook{'s' * (len(graded) != 1)}"
    print(f"graded {notebooks} ({len(run.outcomes)} of {len(run.students)} students) in {run.seconds:.0f} s with {engine}"
          f"{per_notebook}; {run.unchanged} unchanged (not regraded); {len(failures)} could not be graded; "
          f"{len(run.problems)} problems in the submissions; {len(flagged)} flagged for review")
    for student, chapter, flags in flagged:
        print(f"  FLAGGED {student}, {chapter}: {'; '.join(flags)}")
    for student, chapter, why in failures:
        print(f"  could not grade {student}, {chapter}: {'; '.join(why)}")
    for student, what in run.problems:
        print(f"  {student}: {what}")
    for student, chapter, what in notes:
        print(f"  note {student}, {chapter}: {'; '.join(what)}")
    print(isolation(run))
    print(f"grades:   {csv_path}\nfeedback: {folder / 'feedback'}\nreport:   {report} "
          f"(figure {report.with_suffix('.png').name})")
    return OK


def become(command: list[str], cwd: Path, env: dict) -> NoReturn:
    """Replace this process by ``command``, a Jupyter server, as ``jupyter`` itself does with its subcommands.

    Run as a child instead, the server and its kernels outlived a SIGTERM sent to ``aeworkbook``.
    """
    sys.stdout.flush()
    os.chdir(cwd)
    os.execvpe(command[0], command, env)


def run_fetch(args, workbook: Workbook) -> int:
    from .student import describe, fetch, lab_environment

    work = (args.to or Path(os.environ.get("AEWORKBOOK_WORK_DIR") or workbook.root / "work")).resolve()
    print(describe(fetch(workbook, work), work), flush=True)
    if args.command == "fetch":
        return OK
    become(["jupyter", "lab", *args.jupyter_args], work, lab_environment(args.fast))


def run_formgrader(args, workbook: Workbook) -> int:
    """JupyterLab with the formgrader: its server root must hold the course directory (nbgrader refuses a
    course outside it), and its configuration must be the workbook's."""
    course = course_folder(args, workbook).resolve()
    if not (course / "gradebook.db").exists():
        raise WorkbookError(f"{course}: no gradebook here; grade the class first (aeworkbook grade)")
    root = Path(os.path.commonpath([workbook.root, course]))
    env = dict(os.environ, AEWORKBOOK_ROOT=str(workbook.root), AEWORKBOOK_COURSE_DIR=str(course))
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        p for p in [str(Path(__file__).with_name("formgrader_jupyter")), env.get("JUPYTER_CONFIG_PATH")] if p)
    print(f"formgrader for {course} (server root {root}): open /formgrader in the JupyterLab that starts", flush=True)
    become(["jupyter", "lab", f"--ServerApp.root_dir={root}", *args.jupyter_args], root, env)


def course_folder(args, workbook: Workbook) -> Path:
    return args.course or Path(os.environ.get("AEWORKBOOK_COURSE_DIR") or workbook.root / "course")


def run_answers(args, workbook: Workbook) -> int:
    from . import answers
    from .catalogue import chapters
    from .grading import Course, export_csv
    from .nbconfig import sqlite_url

    known = chapters(workbook.solutions)
    matches = [c for c in known if c.id == args.chapter] or [c for c in known if c.id.startswith(args.chapter)]
    if len(matches) != 1:
        raise WorkbookError(f"no single chapter {args.chapter!r} (chapters: {', '.join(c.id for c in known)})")
    chapter = matches[0]
    folder = course_folder(args, workbook).resolve()
    if not (folder / "gradebook.db").exists() and not args.db:
        raise WorkbookError(f"{folder}: no gradebook here; grade the class first (aeworkbook grade)")
    course = Course(str(workbook.root), str(folder), args.db or sqlite_url(folder))
    if args.scores:
        if not args.question:
            raise WorkbookError("--scores needs the QUESTION its points are for")
        question = answers.find_question(chapter, args.question)
        graded = answers.import_scores(course, chapter, question, args.scores)
        print(f"entered {len(graded)} manual grade{'s' * (len(graded) != 1)} for {question.grade_id}: "
              f"{', '.join(graded) or 'none'}")
        print(f"grades:   {export_csv(course, folder / 'grades.csv')}  (`aeworkbook grade` again updates the report)")
        return OK
    questions = [answers.find_question(chapter, args.question)] if args.question else list(chapter.written)
    if not questions:
        raise WorkbookError(f"{chapter.id} has no written answers")
    for question in questions:
        markdown, table, found = answers.export(course, workbook, chapter, question)
        print(answers.describe(chapter, question, found))
        print(f"  read:     {markdown}\n  fill in:  {table}   then: aeworkbook answers {chapter.id} "
              f"{question.grade_id} --scores {table}")
    return OK


if __name__ == "__main__":
    sys.exit(main())
