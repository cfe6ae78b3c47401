import pytest

from aeworkbook.profiles import PROFILES, current_profile


def test_nbgrader_execution_picks_fast():
    assert current_profile({"NBGRADER_EXECUTION": "autograde"}).name == "fast"


def test_default_is_full_for_students():
    assert current_profile({}).name == "full"


def test_variable_wins_over_nbgrader():
    assert current_profile({"AEWORKBOOK_PROFILE": "full", "NBGRADER_EXECUTION": "validate"}).name == "full"
    assert current_profile({"AEWORKBOOK_PROFILE": " FAST "}).name == "fast"


def test_unknown_profile_names_the_choices():
    with pytest.raises(ValueError, match="choose one of: fast, full"):
        current_profile({"AEWORKBOOK_PROFILE": "quick"})


def test_epochs_full_profile_keeps_the_reference():
    assert PROFILES["full"].epochs(50) == 50
    assert PROFILES["full"].epochs(50, fast=2) == 50


def test_epochs_fast_profile_caps_and_can_be_overridden():
    fast = PROFILES["fast"]
    assert fast.epochs(50) == fast.max_epochs
    assert fast.epochs(3) == 3
    assert fast.epochs(50, fast=8) == 8
    assert fast.epochs(50, fast=0) == 1


def test_batch_size_capped_only_in_fast():
    assert PROFILES["full"].batch_size(256) == 256
    assert PROFILES["fast"].batch_size(256) == PROFILES["fast"].max_batch_size
    assert PROFILES["fast"].batch_size(16) == 16


@pytest.mark.parametrize("bad", [0, -1])
def test_nonsense_sizes_are_refused(bad):
    with pytest.raises(ValueError):
        PROFILES["full"].epochs(bad)
    with pytest.raises(ValueError):
        PROFILES["fast"].batch_size(bad)


def test_fast_profile_is_a_small_subset():
    fast, full = PROFILES["fast"], PROFILES["full"]
    assert fast.train_size <= 10_000 and full.train_size is None
    assert fast.val_size < full.val_size


def test_subset_keeps_the_full_size_and_caps_it_in_fast():
    full, fast = PROFILES["full"], PROFILES["fast"]
    assert full.subset(20_000) == 20_000 and full.subset(20_000, fast=100) == 20_000
    assert fast.subset(20_000) == fast.train_size
    assert fast.subset(300) == 300
    assert fast.subset(20_000, fast=2_000) == 2_000
    with pytest.raises(ValueError):
        fast.subset(0)
