"""``aeworkbook``: each user's main job in one command.

    aeworkbook lab [--fast]              students: copy the chapters to work/ (answers survive updates) and
                                         open JupyterLab there
    aeworkbook fetch                     students: the same copy, without starting JupyterLab
    aeworkbook validate NOTEBOOK...      students and CI: run as the grader would, exercise by exercise
    aeworkbook release [CHAPTER...]      instructors: regenerate chapters/ from solutions/ (--check: is it fresh?)
    aeworkbook grade SUBMISSIONS         instructors: grade a class, write feedback, grades CSV and a report
    aeworkbook answers CHAPTER [Q]       instructors: a written answer for the whole class beside its rubric;
                                         --scores FILE enters the points given by hand
    aeworkbook grades                    instructors: the grades CSV; --canvas/--moodle ROSTER: LMS import files
    aeworkbook feedback CHAPTER          instructors: a zip of feedback per student; --moodle: Moodle's bulk upload
    aeworkbook similarity [CHAPTER...]   instructors: similar answers across the class, side by side (HTML)

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
from .sandbox import Limits, SandboxUnavailable, bounds

OK, FAILED, UNUSABLE = 0, 1, 2
MISSING_CHOICES = ("empty", "zero")


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
    grade.add_argument("--deadlines", type=Path, metavar="TOML", help="deadlines and late penalty policy (kept "
                       "in the course as deadlines.toml for later runs; see the README)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    safety = grade.add_argument_group("isolation and limits of each student's kernel")
    safety.add_argument("--no-sandbox", action="store_true",
                        help="run students' code WITHOUT isolation, with your files and network in reach")
    safety.add_argument("--memory", type=positive_int, default=Limits.memory_mb, metavar="MB",
                        help=f"memory of a kernel: each process's address space, and all its processes' together "
                             f"where cgroups can be used (default {Limits.memory_mb})")
    safety.add_argument("--file-size", type=positive_int, default=Limits.file_size_mb, metavar="MB",
                        help=f"largest file a kernel may write (default {Limits.file_size_mb})")
    safety.add_argument("--processes", type=positive_int, default=Limits.processes, metavar="N",
                        help=f"processes and threads of a kernel and its children (default {Limits.processes})")
    safety.add_argument("--notebook-timeout", type=positive_int, default=Limits.notebook_timeout, metavar="SECONDS",
                        help=f"seconds a whole notebook may run (default {Limits.notebook_timeout})")
    safety.add_argument("--output-limit", type=positive_int, default=OUTPUT_LIMIT // 1000, metavar="KB",
                        help=f"output kept per notebook; the rest is cut (default {OUTPUT_LIMIT // 1000})")
    safety.add_argument("--reveal-hidden-tests", action="store_true",
                        help="show hidden tests and their tracebacks in the feedback (hidden by default)")

    grades = commands.add_parser("grades", help="instructors: the grades CSV again, and the files an LMS imports "
                                 "(--canvas, --moodle)")
    grades.add_argument("--canvas", type=Path, metavar="ROSTER", help="Canvas's gradebook export (Grades > Export): "
                        "write its import file, course/lms/canvas_grades.csv")
    grades.add_argument("--moodle", type=Path, metavar="ROSTER", help="Moodle's grade export (Export > Plain text "
                        "file) or an assignment's grading worksheet: write course/lms/moodle_grades.csv")
    grades.add_argument("--match", metavar="COLUMN", help="the roster column that holds the workbook's student ids "
                        "(default: the column that holds most of them)")
    grades.add_argument("--missing", choices=sorted(MISSING_CHOICES), default="empty",
                        help="a roster student's chapter not handed in: an empty cell (the LMS keeps what it "
                             "has) or 0 (default: empty)")
    grades.add_argument("--allow-provisional", action="store_true", help="export even grades that count written "
                        "answers not yet graded by hand as 0 (they are listed)")
    grades.add_argument("--chapter", action="append", metavar="CHAPTER", dest="chapters",
                        help="export this chapter (repeat for more; default: every chapter someone handed in)")
    grades.add_argument("--course", type=Path, help="course directory (as for grade)")
    grades.add_argument("--db", metavar="URL", help="gradebook database URL (as for grade)")

    feedback = commands.add_parser("feedback", help="instructors: a chapter's feedback packed for students: one zip "
                                   "each, and Moodle's bulk feedback upload (--moodle)")
    feedback.add_argument("chapter", metavar="CHAPTER", help="chapter id (ch01_simple_sparse) or its prefix (ch01)")
    feedback.add_argument("--moodle", type=Path, metavar="WORKSHEET", help="the Moodle assignment's grading "
                          "worksheet (View all submissions > Download grading worksheet)")
    feedback.add_argument("--match", metavar="COLUMN", help="the worksheet column that holds the workbook's student "
                          "ids (default: the column that holds most of them)")
    feedback.add_argument("--course", type=Path, help="course directory (as for grade)")
    feedback.add_argument("--db", metavar="URL", help="gradebook database URL (as for grade)")

    similar = commands.add_parser("similarity", help="instructors: pairs of students with similar answers, per "
                                  "exercise and written answer, side by side in HTML")
    similar.add_argument("chapters", nargs="*", metavar="CHAPTER", help="chapter ids or prefixes (default: every "
                         "chapter handed in)")
    similar.add_argument("--course", type=Path, help="course directory (as for grade)")

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
                "answers": run_answers, "grades": run_grades,
                "feedback": run_feedback, "similarity": run_similarity, "fetch": run_fetch, "lab": run_fetch,
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
    return f"isolation: every kernel ran in the bubblewrap sandbox ({run.course.limits.describe()}); {bounds()}"


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
                    limits=Limits(memory_mb=args.memory, file_size_mb=args.file_size, processes=args.processes,
                                  notebook_timeout=args.notebook_timeout),
                    output_limit=args.output_limit * 1000, reveal_hidden_tests=args.reveal_hidden_tests,
                    deadlines=args.deadlines)
    except (SubmissionsError, SandboxUnavailable) as error:
        print(f"aeworkbook grade: nothing was graded.\n{error}", file=sys.stderr)
        return UNUSABLE
    known = run.chapters
    folder = Path(run.course.course_dir)
    csv_path = export_csv(run.course, folder / "grades.csv")
    failures = [(student, c.chapter, c.notes) for student, c in run.failed]
    notes = [(o.student, c.chapter, c.notes) for o in run.outcomes for c in o.chapters if c.graded and c.notes]
    waiting = waiting_in_gradebook(run.course.db_url, COURSE_ID)
    late = late_lines(run.course, known)
    flagged = flagged_in_gradebook(run.course, known)
    report = write_report(folder / "report.md", run.scores, known, run.problems, failures, notes,
                          isolation=isolation(run), waiting=waiting, late=late,
                          flagged=flagged)

    print(score_table(run.scores, known, waiting))
    late_hand_ins = [line for line in late or [] if line.startswith("- ")]
    if late_hand_ins:
        print(f"late: {len(late_hand_ins)} hand-in{'s' * (len(late_hand_ins) != 1)} (scores above are before "
              "penalties; grades.csv and the report have them)")
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


def refresh_late_penalties(course, known) -> None:
    """Late penalties are a share of the score: compute them again once hand grades changed it."""
    from . import late
    from .nbconfig import COURSE_ID

    late.apply(course.db_url, COURSE_ID, late.course_policy(Path(course.course_dir), [c.id for c in known]))


def late_lines(course, known) -> list[str] | None:
    """The report's late work: the policy, then each late hand-in; None when the course has no deadlines."""
    from nbgrader.api import Gradebook

    from .grades import class_grades
    from .late import course_policy
    from .nbconfig import COURSE_ID

    policy = course_policy(Path(course.course_dir), [c.id for c in known])
    if policy is None:
        return None
    with Gradebook(course.db_url, COURSE_ID) as gradebook:
        grades = class_grades(gradebook, [c.id for c in known], sorted(s.id for s in gradebook.students))
    late = [f"- {student}, {chapter}: {g.late}" for student, chapters in grades.items()
            for chapter, g in chapters.items() if g.late]
    return [f"Policy: {policy.describe()}; deadlines for {', '.join(policy.deadlines) or 'no chapter'}.", "",
            *(late or ["No late work."])]


def become_jupyter_lab(jupyter_args: list[str], cwd: Path, env: dict) -> NoReturn:
    """Replace this process by JupyterLab, as ``jupyter`` itself does with its subcommands (run as a child,
    the server and its kernels outlived a SIGTERM sent to ``aeworkbook``).

    JupyterLab comes from this environment, which also leads the server's PATH: with the environment not
    activated, ``jupyter`` from PATH was missing (a traceback) or another installation's."""
    sys.stdout.flush()
    os.chdir(cwd)
    env = dict(env, PATH=os.pathsep.join(p for p in [str(Path(sys.executable).parent), env.get("PATH")] if p))
    os.execve(sys.executable, [sys.executable, "-m", "jupyterlab", *jupyter_args], env)


def run_fetch(args, workbook: Workbook) -> int:
    from .student import describe, fetch, lab_environment

    work = (args.to or Path(os.environ.get("AEWORKBOOK_WORK_DIR") or workbook.root / "work")).resolve()
    print(describe(fetch(workbook, work), work), flush=True)
    if args.command == "fetch":
        return OK
    become_jupyter_lab(args.jupyter_args, work, lab_environment(args.fast))


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
    become_jupyter_lab([f"--ServerApp.root_dir={root}", *args.jupyter_args], root, env)


def course_folder(args, workbook: Workbook) -> Path:
    return args.course or Path(os.environ.get("AEWORKBOOK_COURSE_DIR") or workbook.root / "course")


def run_answers(args, workbook: Workbook) -> int:
    from . import answers
    from .catalogue import chapters
    from .grading import export_csv

    known = chapters(workbook.solutions)
    chapter = find_chapter(known, args.chapter)
    course = graded_course(args, workbook)
    folder = Path(course.course_dir)
    if args.scores:
        if not args.question:
            raise WorkbookError("--scores needs the QUESTION its points are for")
        question = answers.find_question(chapter, args.question)
        graded = answers.import_scores(course, chapter, question, args.scores)
        refresh_late_penalties(course, known)
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


def find_chapter(known, name: str):
    """A chapter by id or unique prefix (ch01)."""
    matches = [c for c in known if c.id == name] or [c for c in known if c.id.startswith(name)]
    if len(matches) != 1:
        raise WorkbookError(f"no single chapter {name!r} (chapters: {', '.join(c.id for c in known)})")
    return matches[0]


def graded_course(args, workbook: Workbook):
    """The course that ``grade`` left (refused, clearly, when there is none)."""
    from .grading import Course
    from .nbconfig import sqlite_url

    folder = course_folder(args, workbook).resolve()
    if not (folder / "gradebook.db").exists() and not args.db:
        raise WorkbookError(f"{folder}: no gradebook here; grade the class first (aeworkbook grade)")
    return Course(str(workbook.root), str(folder), args.db or sqlite_url(folder))


def run_grades(args, workbook: Workbook) -> int:
    from nbgrader.api import Gradebook

    from . import lms
    from .catalogue import chapters
    from .grades import class_grades
    from .grading import export_csv
    from .nbconfig import COURSE_ID

    known = chapters(workbook.solutions)
    course = graded_course(args, workbook)
    refresh_late_penalties(course, known)
    print(f"grades:   {export_csv(course, Path(course.course_dir) / 'grades.csv')}")
    with Gradebook(course.db_url, COURSE_ID) as gradebook:
        grades = class_grades(gradebook, [c.id for c in known], sorted(s.id for s in gradebook.students))
        recorded = {a.name: a.max_score for a in gradebook.assignments}
    wanted = [find_chapter(known, name).id for name in args.chapters] if args.chapters else \
        [c.id for c in known if any(c.id in chapters_ for chapters_ in grades.values())]
    maxima = {c: recorded[c] for c in wanted if c in recorded}  # points possible, as nbgrader counts them
    status = OK
    for lms_name, roster in (("canvas", args.canvas), ("moodle", args.moodle)):
        if roster is None:
            continue
        to = Path(course.course_dir) / "lms" / f"{lms_name}_grades.csv"
        try:
            result = lms.export(lms_name, roster, to, grades, maxima, missing=args.missing,
                                allow_provisional=args.allow_provisional, match=args.match)
        except lms.ProvisionalRefused as refused:
            print(f"aeworkbook grades: {lms_name}: {refused}", file=sys.stderr)
            status = FAILED
            continue
        print(lms.describe(result, lms_name))
    return status


def run_feedback(args, workbook: Workbook) -> int:
    """Late penalties and hand grades into the feedback (nbgrader generate_feedback again: no kernel runs),
    then the packs."""
    from nbgrader.apps import NbGraderAPI

    from .catalogue import chapters
    from .handback import pack

    known = chapters(workbook.solutions)
    chapter = find_chapter(known, args.chapter)
    course = graded_course(args, workbook)
    refresh_late_penalties(course, known)
    autograded = sorted(Path(course.course_dir).glob(f"autograded/*/{chapter.id}/{chapter.notebook}"))
    api = NbGraderAPI(config=course.config()) if autograded else None
    for path in autograded:
        result = api.generate_feedback(chapter.id, path.parent.parent.name, force=True)
        if not result["success"]:
            print(f"  {path.parent.parent.name}: the feedback could not be written again; the last one is packed",
                  file=sys.stderr)
    packed = pack(Path(course.course_dir), chapter.id, args.moodle, args.match)
    folder = Path(course.course_dir) / "returns" / chapter.id
    print(f"one zip per student ({len(packed.students)}): {folder}/<student>.zip")
    if packed.moodle:
        print(f"moodle:   {packed.moodle} (the assignment's View all submissions > Upload multiple feedback files "
              "in a zip)")
    if packed.not_in_worksheet:
        print("  not in the worksheet (no Moodle feedback; their zips are above): "
              + ", ".join(packed.not_in_worksheet))
    return OK


def run_similarity(args, workbook: Workbook) -> int:
    from .catalogue import chapters
    from .similarity import FLAGGED, chapter_report

    known = chapters(workbook.solutions)
    folder = course_folder(args, workbook).resolve()
    wanted = [find_chapter(known, name) for name in args.chapters] if args.chapters else \
        [c for c in known if any(folder.glob(f"submitted/*/{c.id}/{c.notebook}"))]
    if not wanted:
        raise WorkbookError(f"{folder}: no submissions here; grade the class first (aeworkbook grade)")
    for chapter in wanted:
        path, flagged = chapter_report(folder, chapter, workbook.chapters / chapter.id / chapter.notebook)
        print(f"{chapter.id}: {len(flagged)} pair{'s' * (len(flagged) != 1)} at {FLAGGED:.0%} or more: {path}")
        for pair in flagged:
            print(f"  {pair.question}: {pair.students[0]} and {pair.students[1]} ({pair.score:.0%})")
    return OK


if __name__ == "__main__":
    sys.exit(main())
