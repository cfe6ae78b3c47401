"""How fast does ``aeworkbook grade`` go, and what does grading cost beyond running the notebook?

    python benchmarks/grading_speed.py [--students 4] [--chapter ch04_kl_divergence]

1. Executes one submission as plain Jupyter would (nbclient, kernel start included): the floor.
2. Grades a class of one student with one job, --repeats times with the sandbox and as many without,
   alternating: the cost of one graded notebook (the grading job: autograde + feedback, and the whole
   command), and the sandbox's cost as a ratio of medians.
3. Grades a class of --students students with 1 job, then with 2 jobs, in the sandbox (each kernel
   gets cores / jobs threads): seconds per graded submission and the speed-up.
4. Executes the solution with the grader's executor, --repeats times with the audit, hidden tests after
   the last cell and canaries (issue 21), and as many without, alternating: their cost as a ratio of
   medians (``--verdict-only`` runs this part alone).
Every student hands in the chapter's solution. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from aeworkbook.course.catalogue import Workbook, chapters
from aeworkbook.course.grading import grade

import run  # the benchmark's notebook executor (this folder)


def median(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """The (total, job) pair with the median job time."""
    return sorted(pairs, key=lambda pair: pair[1])[len(pairs) // 2]


def make_class(folder: Path, notebook: Path, chapter: str, students: int) -> Path:
    for n in range(students):
        target = folder / f"student{n + 1:02d}" / chapter
        target.mkdir(parents=True)
        shutil.copy(notebook, target / notebook.name)
    return folder


def timed_grade(submissions: Path, course: Path, workbook: Workbook, jobs: int, sandbox: bool = True):
    shutil.rmtree(course, ignore_errors=True)
    run = grade(submissions, course, workbook=workbook, jobs=jobs, progress=False, sandbox=sandbox)
    assert not run.failed, run.failed
    return run.seconds, [c.seconds for c in run.graded]


def verdict_cost(notebook: Path, repeats: int) -> float:
    """Median seconds of the grader's executor with the issue-21 machinery over the median without it."""
    from aeworkbook.course.execute import GraderExecute
    from aeworkbook.course.validate import environment, kernel_chatter_hidden

    seconds = {True: [], False: []}
    for _ in range(repeats):
        for on in (True, False):
            nb = nbformat.read(notebook, as_version=4)
            start = time.perf_counter()
            with environment(NBGRADER_EXECUTION="autograde"), kernel_chatter_hidden():
                GraderExecute(timeout=600, sandbox=True, audit=on, hidden_last=on).preprocess(
                    nb, {"metadata": {"path": str(notebook.parent)}})
            seconds[on].append(time.perf_counter() - start)
    print(f"executor with / without the verdict machinery (seconds): {seconds[True]} / {seconds[False]}")
    return statistics.median(seconds[True]) / statistics.median(seconds[False])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--chapter", default="ch04_kl_divergence")
    parser.add_argument("--repeats", type=int, default=3, help="gradings of one student, each way")
    parser.add_argument("--verdict-only", action="store_true", help="only the cost of the issue-21 machinery")
    args = parser.parse_args()
    os.environ["AEWORKBOOK_PROFILE"] = "fast"
    load_before = os.getloadavg()[0]
    workbook = Workbook.find()
    chapter = next(ch for ch in chapters(workbook.solutions) if ch.id == args.chapter)
    notebook = workbook.solutions / chapter.id / chapter.notebook
    verdict = verdict_cost(notebook, args.repeats)
    if args.verdict_only:
        print(f"verdict machinery cost (median of {args.repeats} runs each way): x{verdict:.3f}")
        return

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        execute = run.execute(nbformat.read(notebook, as_version=4), chapter.id, "fast", timeout=600)["total_seconds"]
        one = make_class(scratch / "one", notebook, chapter.id, 1)
        single = {True: [], False: []}
        for _ in range(args.repeats):
            for sandbox in (True, False):
                total, (job,) = timed_grade(one, scratch / "course-one", workbook, jobs=1, sandbox=sandbox)
                single[sandbox].append((total, job))
        (single_total, single_job), (_, plain_job) = (median(single[True]), median(single[False]))
        many = make_class(scratch / "many", notebook, chapter.id, args.students)
        totals = {jobs: timed_grade(many, scratch / f"course-{jobs}", workbook, jobs) for jobs in (1, 2)}

    print(f"{chapter.id}, fast profile, {os.cpu_count()} cores, load average before: {load_before:.1f}, after: {os.getloadavg()[0]:.1f}\n")
    print("| what | seconds |\n|---|---|")
    print(f"| execute the notebook (nbclient, kernel start included) | {execute:.1f} |")
    print(f"| grade it without the sandbox: the job (autograde + feedback) | {plain_job:.1f} "
          f"(x{plain_job / execute:.2f}) |")
    print(f"| grade it in the sandbox: the job | {single_job:.1f} (x{single_job / execute:.2f}) |")
    print(f"| grade it in the sandbox: the whole command, one student | {single_total:.1f} "
          f"(x{single_total / execute:.2f}) |")
    for jobs, (total, _) in totals.items():
        print(f"| {args.students} students, {jobs} job{'s' * (jobs > 1)}: whole command | {total:.1f} "
              f"({total / args.students:.1f} a submission) |")
    print(f"\nsandbox cost (median of {args.repeats} jobs each way): x{single_job / plain_job:.3f}")
    print(f"speed-up with 2 jobs: x{totals[1][0] / totals[2][0]:.2f}")
    print(f"verdict machinery cost (audit, hidden tests last, canaries; median of {args.repeats} runs each way): "
          f"x{verdict:.3f}")


if __name__ == "__main__":
    main()
