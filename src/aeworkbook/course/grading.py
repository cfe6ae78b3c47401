"""Grade a whole class with nbgrader: one job a student, run in parallel.

The jobs go to a standard executor: a pool of local processes (``--jobs``) or a
Dask cluster (``--dask``: a local cluster, or a scheduler's address for a real
one). Every job runs nbgrader's own autograde and generate_feedback for its
student, writing to one gradebook: SQLite by default, or any database URL
(PostgreSQL) that many machines can share. The submitted files are only read;
nbgrader works on copies in the course directory.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import tempfile
import time
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from . import late
from .catalogue import Chapter, Workbook, WorkbookError, chapters, nbgrader_meta
from .execute import NOTICE
from .nbconfig import COURSE_ID, CELL_TIMEOUT, OUTPUT_LIMIT, course_config, sqlite_url
from .sandbox import Limits, check_available
from .submissions import LMS_PATTERN, TIMESTAMP, Collected, Submission, collect, unpack
from .untrusted import printable


@dataclass(frozen=True)
class Course:
    """Where a class is graded; small and picklable, so that it can travel to a worker."""

    workbook_root: str
    course_dir: str
    db_url: str
    cell_timeout: int = CELL_TIMEOUT
    sandbox: bool = True
    limits: Limits = Limits()
    output_limit: int = OUTPUT_LIMIT
    reveal_hidden_tests: bool = False

    def config(self):
        course_dir = Path(self.course_dir)
        return course_config(Workbook(Path(self.workbook_root)), course_dir, release_dir=course_dir / "release",
                             db_url=self.db_url, cell_timeout=self.cell_timeout, sandbox=self.sandbox,
                             limits=self.limits, output_limit=self.output_limit,
                             reveal_hidden_tests=self.reveal_hidden_tests)

    def notebook(self, step: str, student: str, chapter: Chapter) -> Path:
        """A student's notebook in one of nbgrader's steps: submitted, autograded."""
        return Path(self.course_dir) / step / student / chapter.id / chapter.notebook


@dataclass
class ChapterOutcome:
    chapter: str
    graded: bool
    seconds: float
    notes: list[str] = field(default_factory=list)  # timeouts, a dead kernel, why grading failed


@dataclass
class StudentOutcome:
    student: str
    chapters: list[ChapterOutcome]


@dataclass
class GradeRun:
    course: Course
    chapters: list[Chapter]  # every chapter of the workbook, in order
    students: list[str]
    outcomes: list[StudentOutcome]
    problems: list[tuple[str, str]]  # (student, what): inputs that could not be graded as they were
    unchanged: int  # submissions skipped because they were already graded
    seconds: float
    scores: dict  # {student: {chapter: {test grade id: score}}}, the whole gradebook

    @property
    def graded(self) -> list[ChapterOutcome]:
        return [c for o in self.outcomes for c in o.chapters if c.graded]

    @property
    def failed(self) -> list[tuple[str, ChapterOutcome]]:
        return [(o.student, c) for o in self.outcomes for c in o.chapters if not c.graded]


# -- the job a worker runs ---------------------------------------------------------------------------------

_worker_log = None


def keep_kernel_chatter_out_of_the_terminal(course: Course) -> None:
    """Send the worker's stderr (once a worker) to a log file in the course: nbgrader's chatter, the tail of
    each sandboxed kernel's own log (escaped), and with ``--no-sandbox`` the kernels' stderr itself."""
    global _worker_log
    if _worker_log is None:
        folder = Path(course.course_dir) / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        _worker_log = open(folder / f"worker-{os.getpid()}.log", "ab")
        os.dup2(_worker_log.fileno(), 2)


def grade_student(course: Course, student: str, to_grade: list[Chapter]) -> StudentOutcome:
    """Autograde and write feedback for one student's chapters. Runs in a worker process."""
    from nbgrader.apps import NbGraderAPI

    os.environ["AEWORKBOOK_PROFILE"] = "fast"  # grading always runs the fast profile
    keep_kernel_chatter_out_of_the_terminal(course)
    api = NbGraderAPI(config=course.config())
    log_folder = Path(course.course_dir) / "logs" / student
    log_folder.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for chapter in to_grade:
        start = time.perf_counter()
        result = api.autograde(chapter.id, student, force=True, create=True)
        log = result.get("log", "")
        if result["success"]:
            notes = execution_notes(course.notebook("autograded", student, chapter), course.limits)
            flag_in_gradebook(course, student, chapter)
            feedback = api.generate_feedback(chapter.id, student, force=True)
            log += feedback.get("log", "")
            if not feedback["success"]:
                notes.append("graded, but the feedback could not be written (see the log)")
        else:
            notes = [f"could not be graded: {last_error(result)}"]
        (log_folder / f"{chapter.id}.log").write_text(printable(log + (result.get("error") or ""), lines=True))
        outcomes.append(ChapterOutcome(chapter.id, result["success"], time.perf_counter() - start, notes))
    return StudentOutcome(student, outcomes)


def execution_notes(autograded: Path, limits: Limits) -> list[str]:
    """What went wrong while the notebook ran: cells that timed out or ran out of memory, a kernel that
    died, tampering the grader undid, output it cut."""
    nb = nbformat.read(autograded, as_version=4)
    notes = []
    for index, cell in enumerate([c for c in nb.cells if not c.metadata.get(NOTICE)], start=1):
        for output in cell.get("outputs", []):
            if output.output_type == "error" and output.ename in ("CellTimeoutError", "MemoryError"):
                grade_id = nbgrader_meta(cell).get("grade_id", "")
                what = "timed out" if output.ename == "CellTimeoutError" else \
                    f"ran out of memory (the limit is {limits.memory_mb} MB)"
                notes.append(f"cell {index}{f' ({grade_id})' if grade_id else ''} {what}")
    return [printable(note) for note in notes + nb.metadata.get("aeworkbook", {}).get("grader_notes", [])]


def flag_in_gradebook(course: Course, student: str, chapter: Chapter) -> None:
    """Mark an autograded notebook that the grader flagged as flagged in the gradebook (the CSV's ``flags``
    column, the formgrader's flag, the report); a clean regrade clears the mark."""
    from nbgrader.api import Gradebook

    nb = nbformat.read(course.notebook("autograded", student, chapter), as_version=4)
    flags = list(nb.metadata.get("aeworkbook", {}).get("flags", []))
    with Gradebook(course.db_url, COURSE_ID) as gradebook:
        notebook = gradebook.find_submission_notebook(Path(chapter.notebook).stem, chapter.id, student)
        notebook.flagged = bool(flags)
        gradebook.db.commit()


def flagged_in_gradebook(course: Course, known: list[Chapter]) -> list[tuple[str, str, list[str]]]:
    """(student, chapter, flags) for every flagged notebook of the gradebook, graded in this run or before."""
    from nbgrader.api import Gradebook, SubmittedNotebook

    by_id = {chapter.id: chapter for chapter in known}
    with Gradebook(course.db_url, COURSE_ID) as gradebook:
        found = sorted((n.student.id, n.assignment.name) for n in gradebook.db.query(SubmittedNotebook).filter(
            SubmittedNotebook.flagged) if n.assignment.name in by_id)
    return [(student, chapter, nbformat.read(course.notebook("autograded", student, by_id[chapter]), as_version=4)
             .metadata.get("aeworkbook", {}).get("flags", [])) for student, chapter in found]


def last_error(result: dict) -> str:
    """Why nbgrader failed, in words an instructor can act on."""
    text = (result.get("log") or "") + (result.get("error") or "")
    if "DeadKernelError" in text or "Kernel died" in text:
        return "the kernel died while the notebook ran (a crash in the student's code); the chapter scores 0"
    causes = [line.strip() for line in text.splitlines()
              if re.match(r"\s*[\w.]*(Error|Exception)\b", line) and "NbGraderException" not in line]
    return printable((causes or ["unknown error (see the log in the course's logs/ folder)"])[-1][:300])


# -- the instructor's command ------------------------------------------------------------------------------

@contextmanager
def executor(jobs: int, dask: str | None) -> Executor:
    """Local worker processes, or a Dask cluster: ``dask="local"`` starts one here, an address joins one."""
    if dask is None:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
        return
    from distributed import Client, LocalCluster

    if dask == "local":
        with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield client.get_executor(pure=False)
    else:
        with Client(dask) as client:
            yield client.get_executor(pure=False)


def prepare_gradebook(course: Course, known: list[Chapter], students: list[str]) -> None:
    """Record every chapter's graded cells (nbgrader generate_assignment, into the course, not chapters/)
    and every student, so that a student without a notebook still has a row with zeros."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    api = NbGraderAPI(config=course.config())  # creates the course directory
    changed = [change for change in (cells_changed_since_graded(course, chapter) for chapter in known) if change]
    if changed:
        raise WorkbookError(CELLS_CHANGED.format(course=course.course_dir, changes="; ".join(changed)))
    for chapter in known:
        result = api.generate_assignment(chapter.id, force=True, create=True)
        if not result["success"]:
            raise WorkbookError(f"nbgrader could not prepare {chapter.id}: {last_error(result)}")
    with Gradebook(course.db_url, COURSE_ID) as gradebook:
        for student in students:
            gradebook.update_or_create_student(student)


CELLS_CHANGED = """\
cannot grade in {course}: {changes}.
nbgrader refuses to add or remove cells of a chapter that has graded submissions in the gradebook
("Cannot add or remove cells ... because there are submissions"), so nothing was changed. Either
  * grade this class with the chapter as it was given (check out the earlier solutions/ with git), or
  * grade every submission again in a new course directory: aeworkbook grade SUBMISSIONS --course NEW;
    the old course keeps its grades; to carry hand grades over, for each chapter and question:
    aeworkbook answers CHAPTER GRADE_ID --course OLD, then
    aeworkbook answers CHAPTER GRADE_ID --course NEW --scores OLD/answers/GRADE_ID.csv"""


def cells_changed_since_graded(course: Course, chapter: Chapter) -> str | None:
    """The cells that ``solutions/`` adds to or removes from a chapter that has graded submissions in
    the gradebook (a discussion question added, say), described; None when nbgrader can regenerate it.
    nbgrader records every graded, answer, task and read-only cell, and refuses any change to that set."""
    from nbgrader import utils
    from nbgrader.api import Gradebook, MissingEntry

    source = nbformat.read(Path(course.workbook_root) / "solutions" / chapter.id / chapter.notebook, as_version=4)
    now = {nbgrader_meta(cell).get("grade_id") for cell in source.cells
           if utils.is_grade(cell) or utils.is_solution(cell) or utils.is_task(cell) or utils.is_locked(cell)}
    with Gradebook(course.db_url, COURSE_ID) as gradebook:
        try:
            notebook = gradebook.find_notebook(Path(chapter.notebook).stem, chapter.id)
        except MissingEntry:
            return None
        graded, recorded = len(notebook.submissions), {cell.name for cell in notebook.source_cells}
    if not graded:
        return None
    added, removed = sorted(now - recorded), sorted(recorded - now)
    if not (added or removed):
        return None
    return (f"{chapter.id} has graded submissions ({graded}) and its source "
            + " and ".join(f"{what} {', '.join(ids)}" for what, ids in (("adds", added), ("removes", removed)) if ids))


def already_graded(course: Course, submission: Submission, graded: set, stamp: str | None) -> bool:
    """The same notebook was graded before: its copy in submitted/ is identical, handed in at the same time
    (``stamp``, the text of its timestamp.txt), and the gradebook has it."""
    copy = course.notebook("submitted", submission.student, submission.chapter)
    stamp_file = copy.with_name(TIMESTAMP)
    return ((submission.student, submission.chapter.id) in graded
            and course.notebook("autograded", submission.student, submission.chapter).exists()
            and copy.exists() and copy.read_text() == submission.content
            and (stamp_file.read_text() if stamp_file.exists() else None) == stamp)


def submission_time(submission: Submission, policy, problems: list) -> str | None:
    """The text of the copy's timestamp.txt (nbgrader reads it for late penalties), or None."""
    if submission.submitted_at is None:
        return None
    try:
        return late.timestamp_text(late.parse_time(submission.submitted_at, late.zone(policy.timezone if policy
                                                                                        else "UTC")))
    except WorkbookError as error:
        problems.append((printable(submission.student),
                         printable(f"{submission.chapter.id}: {error}; graded as handed in on time")))
        return None


def grade(source: Path, course_dir: Path, *, workbook: Workbook, jobs: int | None = None, dask: str | None = None,
          db_url: str | None = None, regrade_all: bool = False, lms_pattern: str = LMS_PATTERN,
          cell_timeout: int = CELL_TIMEOUT, progress: bool = True, sandbox: bool = True,
          limits: Limits = Limits(), output_limit: int = OUTPUT_LIMIT, reveal_hidden_tests: bool = False,
          deadlines: Path | None = None) -> GradeRun:
    """Grade every submission in ``source`` (a folder or zip), in ``course_dir``; see the module's doc.
    ``deadlines``: a late policy (``late.py``) to keep in the course; without it, the course's own, if any.

    With ``sandbox`` (the default), raises :class:`SandboxUnavailable` before anything is graded when
    bubblewrap cannot start here."""
    from tqdm import tqdm

    if sandbox:
        check_available()
    start = time.perf_counter()
    course_dir = Path(course_dir).resolve()
    jobs = jobs or os.cpu_count() or 1
    if sandbox and not limits.threads:  # a fair share of the cores for each kernel running at once
        limits = replace(limits, threads=max(1, (os.cpu_count() or 1) // jobs))
    course = Course(str(workbook.root), str(course_dir), db_url or sqlite_url(course_dir), cell_timeout, sandbox,
                    limits, output_limit, reveal_hidden_tests)
    known = chapters(workbook.solutions)
    ids = [chapter.id for chapter in known]
    policy = late.install(deadlines, course_dir, ids) if deadlines else late.course_policy(course_dir, ids)
    with tempfile.TemporaryDirectory(prefix="aeworkbook-grade-") as scratch:
        collected: Collected = collect(unpack(Path(source), Path(scratch)), known, lms_pattern)
        prepare_gradebook(course, known, collected.students)
        late.apply(course.db_url, COURSE_ID, policy)  # the due dates, before autograde compares with them
        graded_before = {(s, c) for s, chapters_ in gradebook_scores(course, known).items() for c in chapters_}
        todo: dict[str, list[Chapter]] = {}
        unchanged = 0
        for submission in collected.submissions:
            stamp = submission_time(submission, policy, collected.problems)
            if not regrade_all and already_graded(course, submission, graded_before, stamp):
                unchanged += 1
                continue
            copy = course.notebook("submitted", submission.student, submission.chapter)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(submission.content)  # its cells matched to the chapter's (submissions.py)
            copy.with_name(TIMESTAMP).unlink(missing_ok=True)
            if stamp:
                copy.with_name(TIMESTAMP).write_text(stamp)
            todo.setdefault(submission.student, []).append(submission.chapter)

    outcomes = []
    if todo:
        total = sum(len(c) for c in todo.values())
        with tqdm(total=total, unit="notebook", desc="grading", disable=not progress) as bar:
            for outcome in graded_students(course, todo, jobs, dask):
                outcomes.append(outcome)
                bar.update(len(outcome.chapters))
    late.apply(course.db_url, COURSE_ID, policy)  # penalties from the final scores (hand grades included)
    return GradeRun(course, known, collected.students, sorted(outcomes, key=lambda o: o.student), collected.problems,
                    unchanged, time.perf_counter() - start, gradebook_scores(course, known))


def graded_students(course: Course, todo: dict[str, list[Chapter]], jobs: int, dask: str | None):
    """Each student's outcome, as the jobs end. A local worker that dies (killed, out of memory) breaks its pool and
    every job in it, and which job killed it is unknown: those students are graded again, each in a pool of their
    own, so that only the job that kills its worker fails and the rest of the class goes on."""
    broken = {}
    with executor(min(jobs, len(todo)), dask) as pool:
        futures = {pool.submit(grade_student, course, student, to_grade): student for student, to_grade in todo.items()}
        for future in as_completed(futures):
            student = futures[future]
            if isinstance(future.exception(), BrokenProcessPool) and len(todo) > 1:
                broken[student] = todo[student]
            else:
                yield student_outcome(future, student, todo[student])
    for student, to_grade in broken.items():
        yield from graded_students(course, {student: to_grade}, 1, dask)


def student_outcome(future, student: str, to_grade: list[Chapter]) -> StudentOutcome:
    """The job's outcome; a job that itself failed (a lost worker) marks the student's chapters as failed."""
    try:
        return future.result()
    except Exception as error:  # the worker died or could not run the job: the rest of the class goes on
        note = f"could not be graded: {type(error).__name__}: {error}"
        return StudentOutcome(student, [ChapterOutcome(c.id, False, 0.0, [note]) for c in to_grade])


def gradebook_scores(course: Course, known: list[Chapter]) -> dict:
    """{student: {chapter: {test grade id: score}}} for every submission in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    found = {}
    with Gradebook(course.db_url, COURSE_ID) as gradebook:
        for student in gradebook.students:
            found.setdefault(student.id, {})
            for chapter in known:
                try:
                    notebook = gradebook.find_submission_notebook(Path(chapter.notebook).stem, chapter.id, student.id)
                except MissingEntry:
                    continue
                found[student.id][chapter.id] = {g.name: g.score for g in notebook.grades}
    return found


def export_csv(course: Course, path: Path) -> Path:
    """The grades CSV (student x chapter, total), through the workbook's nbgrader export plugin."""
    from nbgrader.api import Gradebook

    from .grades import ChapterGradesExport

    with Gradebook(course.db_url, COURSE_ID) as gradebook:
        ChapterGradesExport(to=str(path)).export(gradebook)
    return path
