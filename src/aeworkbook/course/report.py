"""What an instructor reads after grading: the score table, a short report and its figure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .catalogue import Chapter, Exercise
from .untrusted import code_span


@dataclass(frozen=True)
class ExerciseSummary:
    chapter: Chapter
    exercise: Exercise
    submitted: int  # students who handed in the chapter
    full: int  # of those, how many earned every point
    zero: int  # and how many earned none
    mean: float  # mean score over those who handed it in

    @property
    def label(self) -> str:
        return f"{self.chapter.id[:4]} ex {self.exercise.number} {self.exercise.answer_id[5:]}"


def summarise(scores: dict, known: list[Chapter]) -> list[ExerciseSummary]:
    """Per exercise: how the students who handed in its chapter scored."""
    found = []
    for chapter in known:
        handed_in = [chapters[chapter.id] for chapters in scores.values() if chapter.id in chapters]
        for exercise in chapter.exercises:
            earned = [cells.get(exercise.test_id) or 0.0 for cells in handed_in]
            found.append(ExerciseSummary(
                chapter, exercise, len(earned), sum(e >= exercise.points for e in earned),
                sum(e == 0 for e in earned), sum(earned) / len(earned) if earned else 0.0))
    return found


def score_table(scores: dict, known: list[Chapter], waiting: dict | None = None) -> str:
    """Students down, chapters across, then the total: what the terminal shows. A chapter with written
    answers still to grade by hand (``waiting``: {student: {chapter: [grade ids]}}) is marked ``*``."""
    waiting = waiting or {}
    short = [chapter.id[:4] for chapter in known]
    width = max([len("student"), *map(len, scores)])
    maximum = sum(chapter.max_points for chapter in known)
    lines = [f"{'student':<{width}}  " + "  ".join(f"{s:>6}" for s in short) + f"  {'total':>6}",
             f"{'(max)':<{width}}  " + "  ".join(f"{c.max_points:>6g}" for c in known) + f"  {maximum:>6g}"]
    for student in sorted(scores):
        row = [sum(scores[student][c.id].values()) if c.id in scores[student] else None for c in known]
        marks = ["*" if c.id in waiting.get(student, {}) else " " for c in known]
        cells = "  ".join(f"{'-':>5} " if r is None else f"{r:>5g}{mark}" for r, mark in zip(row, marks))
        lines.append(f"{student:<{width}}  {cells}  {sum(r or 0 for r in row):>6g}")
    count = sum(len(ids) for chapters in waiting.values() for ids in chapters.values())
    if count:
        lines.append(f"* provisional: {count} written answer{'s' * (count != 1)} to grade by hand (count 0 until "
                     "graded; `aeworkbook answers CHAPTER` lists them)")
    return "\n".join(lines)


def plot_distribution(summaries: list[ExerciseSummary], students: int, path: Path) -> Path:
    """One bar an exercise: the share of the class with full marks, some, none, or no notebook."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    labels = [s.label for s in summaries]
    parts = [("full marks", [s.full for s in summaries], "#2a9d4b"),
             ("some points", [s.submitted - s.full - s.zero for s in summaries], "#f2b134"),
             ("no points", [s.zero for s in summaries], "#d1495b"),
             ("not handed in", [students - s.submitted for s in summaries], "#c8c8c8")]
    figure, axes = plt.subplots(figsize=(8, 0.38 * len(summaries) + 1.4))
    left = [0] * len(summaries)
    for name, counts, colour in parts:
        axes.barh(labels, counts, left=left, color=colour, label=name)
        left = [a + b for a, b in zip(left, counts)]
    for row, s in enumerate(summaries):
        mean = f"mean {s.mean:.2g}/{s.exercise.points:g}" if s.submitted else "none handed in"
        axes.text(students * 1.01, row, mean, va="center", fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, students * 1.18)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(f"students (of {students})")
    axes.set_title("Scores per exercise")
    axes.legend(ncol=4, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.04), frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def written_summary(scores: dict, known: list[Chapter], waiting: dict) -> list[str]:
    """The report's table of written answers: how many were handed in, wait for a grade, were graded."""
    lines = []
    for chapter in known:
        for answer in chapter.written:
            handed_in = [(student, chapters[chapter.id]) for student, chapters in scores.items()
                         if chapter.id in chapters]
            to_grade = [s for s, _ in handed_in if answer.grade_id in waiting.get(s, {}).get(chapter.id, [])]
            done = [cells.get(answer.grade_id) or 0.0 for s, cells in handed_in if s not in to_grade]
            mean = f"{sum(done) / len(done):.2f} / {answer.points:g}" if done else "-"
            lines.append(f"| {answer.grade_id} | {len(handed_in)} | {len(to_grade)} | {mean} |")
    if not lines:
        return []
    return ["## Written answers (graded by hand)", "",
            "Totals that include an answer still to grade are provisional (`to_grade_by_hand` and `total_is` in "
            "the CSV). Grade them with `aeworkbook answers CHAPTER QUESTION` or in nbgrader's formgrader.", "",
            "| written answer | handed in | to grade by hand | mean of the rest |", "|---|---|---|---|",
            *lines, ""]


def flagged_section(flagged) -> list[str]:
    if not flagged:
        return []
    return ([f"## FLAGGED for review: {len(flagged)} notebook{'s' * (len(flagged) != 1)}", "",
             "Their code reaches into the grading machinery (or the kernel reported a check that must fail as "
             "passed); their scores stand only once you have read the cells named here (the autograded copy "
             "opens with the same list). The gradebook marks them as flagged.", ""]
            + [f"- **{student}, {chapter}**: " + "; ".join(code_span(flag) for flag in flags)
               for student, chapter, flags in flagged] + [""])


def write_report(path: Path, scores: dict, known: list[Chapter], problems: list[tuple[str, str]],
                 failures: list[tuple[str, str, list[str]]], notes: list[tuple[str, str, list[str]]],
                 isolation: str, waiting: dict | None = None, late: list[str] | None = None,
                 flagged: list[tuple[str, str, list[str]]] = ()) -> Path:
    """``report.md`` beside its figure: per-exercise means, the figure, and every problem found;
    ``isolation`` says how students' code ran (a warning, loud, when it ran without the sandbox);
    ``late``: the policy and each late hand-in, when the course has deadlines; ``flagged`` (student, chapter,
    flags), first of all, the notebooks whose code reaches into the grading."""
    summaries = summarise(scores, known)
    figure = plot_distribution(summaries, len(scores), path.with_suffix(".png"))
    banner = [f"> **{isolation}**" if isolation.startswith("WARNING") else isolation, ""]
    lines = ["# Grading report", "", *banner, *flagged_section(flagged), f"{len(scores)} students.", "",
             "| exercise | handed in | mean score | full marks |", "|---|---|---|---|"]
    for s in summaries:
        share = f"{s.full / s.submitted:.0%}" if s.submitted else "-"
        mean = f"{s.mean:.2f} / {s.exercise.points:g}" if s.submitted else "-"
        lines.append(f"| {s.label} | {s.submitted} | {mean} | {share} |")
    lines += ["", f"![Scores per exercise]({figure.name})", ""]
    lines += written_summary(scores, known, waiting or {})
    if late is not None:
        lines += ["## Late work", "", *late, ""]
    lines += ["## Could not be graded", ""] + ([f"- {student}, {chapter}: {code_span('; '.join(why))}"
                                                for student, chapter, why in failures] or ["None."])
    lines += ["", "## Problems in the submissions", ""] + ([f"- {code_span(student)}: {code_span(what)}"
                                                            for student, what in problems]
                                                           or ["None."])
    lines += ["", "## Notes from the runs", ""] + ([f"- {student}, {chapter}: {code_span('; '.join(what))}"
                                                    for student, chapter, what in notes] or ["None."])
    path.write_text("\n".join(lines) + "\n")
    return path
