"""Late work: a deadline per chapter and a penalty policy, applied through nbgrader's own machinery.

The instructor writes the policy in a TOML file (``aeworkbook grade --deadlines FILE`` keeps a copy in the
course as ``deadlines.toml``, which every later command reads)::

    timezone = "Europe/Paris"        # for deadlines and LMS timestamps written without an offset (default UTC)
    per_day = 0.1                    # a late chapter loses this fraction of its score per day or part of a day
    cutoff_days = 7                  # later than this, it scores 0 (leave out: no cut-off)
    [deadlines]
    ch01_simple_sparse = 2026-10-05T23:59:00
    ch02_deep = 2026-10-12T23:59:00

Neither ``per_day`` nor ``cutoff_days``: no penalty (lateness is still shown). Only ``cutoff_days = 0``:
zero for any late work.

nbgrader records what it needs: a chapter's deadline is its assignment's ``duedate``, a submission's time
its ``timestamp`` (from ``timestamp.txt`` beside the submitted notebook), and the penalty each notebook's
``late_submission_penalty``, computed by :class:`LatePenalty`, a ``LateSubmissionPlugin`` that autograde
runs (``c.AssignLatePenalties.plugin_class``) and whose penalty nbgrader's feedback shows. A penalty depends
on the score, and written answers are graded by hand after autograde: :func:`apply` computes every
penalty again from the gradebook's final scores, so the CSV, the report and the feedback agree.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Unicode

from .catalogue import WorkbookError

POLICY_FILE = "deadlines.toml"  # in the course directory
DAY = 86400.0
# Blackboard's and nbgrader's documented example, "2016-02-09-16-27-42", which dateutil misreads as an offset.
DASHED = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})[-T_ ]?(\d{2})[-:]?(\d{2})[-:]?(\d{2})$")


@dataclass(frozen=True)
class Policy:
    deadlines: dict[str, datetime] = field(default_factory=dict)  # chapter id -> deadline, in UTC (naive)
    per_day: float = 0.0
    cutoff_days: float | None = None
    timezone: str = "UTC"

    def penalty(self, score: float, seconds_late: float) -> float:
        """Points a chapter scoring ``score`` loses when handed in ``seconds_late`` after its deadline."""
        if seconds_late <= 0 or score <= 0:
            return 0.0
        if self.cutoff_days is not None and seconds_late > self.cutoff_days * DAY:
            return score
        return min(score, score * self.per_day * math.ceil(seconds_late / DAY))

    def describe(self) -> str:
        if self.cutoff_days == 0:
            return "late work scores 0"
        parts = [f"{self.per_day:.0%} of the score per day late (or part of a day)"] if self.per_day else []
        if self.cutoff_days is not None:
            parts.append(f"0 when more than {self.cutoff_days:g} days late")
        return "; ".join(parts) or "no penalty (lateness shown only)"


def lateness(seconds_late: float) -> str:
    """'2 h 5 min late', '1.5 days late'; '' when on time."""
    if seconds_late <= 0:
        return ""
    if seconds_late < DAY:
        hours, minutes = divmod(round(seconds_late / 60), 60)
        return f"{hours} h {minutes} min late" if hours else f"{max(minutes, 1)} min late"
    return f"{seconds_late / DAY:.1f} days late"


def zone(name: str):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WorkbookError(f"unknown time zone {name!r} (e.g. UTC, Europe/Paris, America/New_York)") from None


def to_utc(moment: datetime, tz) -> datetime:
    """A naive UTC datetime, as nbgrader stores them; a naive ``moment`` is in ``tz``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def parse_time(text: str, tz) -> datetime:
    """A submission time as an LMS or ``nbgrader collect`` writes it ("2026-10-05-23-59-00", ISO 8601,
    "2026-10-05 23:59:00.123 UTC"), in naive UTC; a time without a zone is in ``tz``."""
    import dateutil.parser
    from nbgrader.utils import parse_utc

    text = text.strip()
    match = DASHED.match(text)
    try:
        if match:
            return to_utc(datetime(*map(int, match.groups())), tz)
        parts = text.split(" ")
        if len(parts) == 3 and not re.match(r"^[+-]\d\d:?\d\d$", parts[2]):  # nbgrader's: date, time, zone name
            return parse_utc(text)  # (it would read "+0200" as 200 seconds)
        return to_utc(dateutil.parser.parse(text), tz)
    except (ValueError, OverflowError):
        raise WorkbookError(f"cannot read the submission time {text!r} (expected e.g. 2026-10-05T23:59:00)") from None


def read_policy(path: Path, known: list[str] | None = None) -> Policy:
    """The policy in ``path``; a clear error for anything malformed or a chapter not in ``known``."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise WorkbookError(f"{path}: cannot read the deadlines file ({error})") from None
    unknown = set(data) - {"timezone", "per_day", "cutoff_days", "deadlines"}
    if unknown:
        raise WorkbookError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))} "
                            "(known: timezone, per_day, cutoff_days, [deadlines])")
    tz = zone(str(data.get("timezone", "UTC")))
    deadlines = {}
    for chapter, moment in (data.get("deadlines") or {}).items():
        matches = [chapter] if known is None else \
            [c for c in known if c == chapter] or [c for c in known if c.startswith(chapter)]
        if len(matches) != 1:
            raise WorkbookError(f"{path}: no single chapter {chapter!r} (chapters: {', '.join(known)})")
        if not isinstance(moment, datetime):
            raise WorkbookError(f"{path}: the deadline of {chapter} must be a date and time "
                                f"(e.g. 2026-10-05T23:59:00), not {moment!r}")
        deadlines[matches[0]] = to_utc(moment, tz)
    per_day, cutoff = data.get("per_day", 0.0), data.get("cutoff_days")
    if not isinstance(per_day, (int, float)) or not 0 <= per_day <= 1:
        raise WorkbookError(f"{path}: per_day must be a fraction between 0 and 1, not {per_day!r}")
    if cutoff is not None and (not isinstance(cutoff, (int, float)) or cutoff < 0):
        raise WorkbookError(f"{path}: cutoff_days must be a number of days (0 or more), not {cutoff!r}")
    return Policy(deadlines, float(per_day), None if cutoff is None else float(cutoff),
                  str(data.get("timezone", "UTC")))


def course_policy(course_dir: Path, known: list[str]) -> Policy | None:
    path = Path(course_dir) / POLICY_FILE
    return read_policy(path, known) if path.exists() else None


class LatePenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin with the course's policy (read from ``policy_file``)."""

    policy_file = Unicode("", help="the course's deadlines.toml").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        if not self.policy_file or not Path(self.policy_file).exists():
            return None
        policy = read_policy(Path(self.policy_file))
        return policy.penalty(score, total_seconds_late)


def apply(db_url: str, course_id: str, policy: Policy | None) -> None:
    """Record the deadlines as nbgrader due dates, and every submitted notebook's penalty from its final score."""
    from nbgrader.api import Gradebook

    if policy is None:
        return
    with Gradebook(db_url, course_id) as gradebook:
        for assignment in gradebook.assignments:
            assignment.duedate = policy.deadlines.get(assignment.name)
        gradebook.db.commit()
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                late = submission.total_seconds_late
                for notebook in submission.notebooks:
                    notebook.late_submission_penalty = policy.penalty(notebook.score, late) if late > 0 else None
        gradebook.db.commit()


def install(policy_path: Path, course_dir: Path, known: list[str]) -> Policy:
    """Check ``policy_path`` and keep a copy in the course, for every later command."""
    policy = read_policy(policy_path, known)
    target = Path(course_dir) / POLICY_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    if Path(policy_path).resolve() != target.resolve():
        target.write_text(Path(policy_path).read_text())
    return policy


def timestamp_text(moment: datetime) -> str:
    """What nbgrader reads from ``timestamp.txt`` (its ``parse_utc``): an explicit UTC time."""
    return moment.replace(tzinfo=timezone.utc).isoformat()

