"""How much data and how many epochs a run uses: the ``fast`` and ``full`` profiles.

``full`` is the student default and trains to reference quality. ``fast`` uses
small subsets and few epochs so that a notebook executes in well under a minute
on two CPU cores; nbgrader (which sets ``NBGRADER_EXECUTION``) and CI (which sets
``AEWORKBOOK_PROFILE=fast``) pick it on their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

PROFILE_VARIABLE = "AEWORKBOOK_PROFILE"


@dataclass(frozen=True)
class Profile:
    """Data-subset sizes and an epoch rule for one profile."""

    name: str
    train_size: int | None  # None: the whole split
    val_size: int
    test_size: int | None
    max_epochs: int | None  # None: the epochs a model asks for
    max_batch_size: int | None  # None: the batch size a model asks for
    # TensorFlow's graph optimiser (grappler) rewrites every traced step and every epoch's input
    # pipeline; the fast profile's many short fits spend more time on that than it saves them.
    graph_optimiser: bool = True

    def epochs(self, full: int, fast: int | None = None) -> int:
        """Epochs for a model that trains ``full`` epochs at reference quality.

        ``fast`` overrides the fast profile's cap for a model that needs more
        (or fewer) epochs to show its point on a small subset.
        """
        return capped("epochs", full, self.max_epochs, fast)

    def batch_size(self, full: int) -> int:
        """Batch size for a model that trains with ``full`` at reference quality.

        A small subset holds few large batches, so the fast profile caps the
        batch size to give the optimiser enough steps in its few epochs.
        """
        if full < 1:
            raise ValueError(f"batch size must be at least 1, got {full}")
        return full if self.max_batch_size is None else min(full, self.max_batch_size)

    def subset(self, full: int, fast: int | None = None) -> int:
        """Training examples for a model that trains on ``full`` of them in the full profile.

        A costly model (a convolutional or recurrent one on two CPU cores) can ask
        for fewer examples than the whole split; the fast profile caps the number
        at its ``train_size``, or at ``fast`` for a model that needs fewer still.
        """
        return capped("subset size", full, self.train_size, fast)


PROFILES = {
    "full": Profile("full", train_size=None, val_size=5_000, test_size=None, max_epochs=None, max_batch_size=None),
    "fast": Profile("fast", train_size=5_000, val_size=1_000, test_size=1_000, max_epochs=5, max_batch_size=32,
                    graph_optimiser=False),
}


def capped(what: str, full: int, cap: int | None, fast: int | None) -> int:
    """``full``, or in a profile with a ``cap`` (the fast one) the smaller of ``full`` and the cap
    (``fast``, when a model asks for its own)."""
    if full < 1:
        raise ValueError(f"{what} must be at least 1, got {full}")
    if cap is None:
        return full
    return max(1, min(full, cap if fast is None else fast))


def current_profile(environ: dict[str, str] | None = None) -> Profile:
    """The profile chosen by the environment.

    ``AEWORKBOOK_PROFILE`` wins when set; otherwise nbgrader's execution
    (``NBGRADER_EXECUTION``) means ``fast`` and anything else means ``full``.
    """
    env = os.environ if environ is None else environ
    name = env.get(PROFILE_VARIABLE, "").strip().lower()
    if not name:
        name = "fast" if env.get("NBGRADER_EXECUTION") else "full"
    try:
        return PROFILES[name]
    except KeyError:
        choices = ", ".join(sorted(PROFILES))
        raise ValueError(f"{PROFILE_VARIABLE}={name!r} is not a profile; choose one of: {choices}") from None
