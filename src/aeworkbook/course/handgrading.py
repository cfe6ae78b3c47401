"""Written answers: the part of grading the instructor does by hand.

nbgrader's autograde gives a written (markdown) answer no score of its own: an
answer left as released scores 0, an answered one waits with no automatic score
until someone grades it by hand (the formgrader, or ``aeworkbook answers``). A
manual score lives in its own gradebook column, which autograde never
overwrites, so regrading keeps it. Totals that still wait for a hand grade are
provisional, and every output says so.
"""

from __future__ import annotations

NOT_ANSWERED, TO_GRADE, GRADED = "not answered", "to grade by hand", "graded by hand"


def hand_state(grade) -> str | None:
    """Where a written answer's gradebook grade stands with the instructor; None for any other cell."""
    if grade.cell.cell_type != "markdown":
        return None
    if grade.manual_score is not None:
        return GRADED
    return TO_GRADE if grade.auto_score is None else NOT_ANSWERED  # autograde gives an unchanged answer 0


def autograded(notebook) -> bool:
    """nbgrader scored the notebook's test cells (not so when grading failed, e.g. a crashed kernel)."""
    return any(g.auto_score is not None for g in notebook.grades if g.cell.cell_type == "code")


def waiting(submission) -> list[str]:
    """The grade ids of a submitted assignment (nbgrader's SubmittedAssignment) still to grade by hand."""
    return sorted(g.name for notebook in submission.notebooks if autograded(notebook)
                  for g in notebook.grades if hand_state(g) == TO_GRADE)


def waiting_in_gradebook(db_url: str, course_id: str) -> dict:
    """{student: {chapter: [grade ids to grade by hand]}}, only where something waits."""
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(db_url, course_id) as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                ids = waiting(submission)
                if ids:
                    found.setdefault(submission.student.id, {})[assignment.name] = ids
    return found
