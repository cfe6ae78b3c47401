"""The benchmark's reference set-ups over seeds (issue 22, section 5): runs merge into results.json one seed at a time,
and a reference is reproduced only when it lies within the range of enough seeds."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import report  # noqa: E402
import run  # noqa: E402

CHAPTER = "ch06_convolutional_sequence"
STAMP = {"date": "2026-12-07T00:00+00:00", "commit": "abc1234"}


def row(key: str, val_mse: float, seed: int | None = None, **extra) -> dict:
    found = {"key": key, "label": key, "data": "d", "setup": "s", "epochs": 10, "batch_size": 32, "train_size": 100,
             "wall_seconds": 5.0, "params": 1, "val_bce": 0.3, "val_mse": val_mse, **extra}
    if seed is not None:
        found["seeds"] = {str(seed): {"val_bce": 0.3, "val_mse": val_mse, "epochs": 10, "wall_seconds": 5.0}}
    return found


def result(rows: list[dict], figures: list[str]) -> dict:
    return {"chapter": CHAPTER, "models": rows, "figures": figures, "measured": STAMP, "notebook_seconds": 300.0,
            "notebook_training_seconds": 250.0,
            "timing": {"load_during": {"mean": 2.0, "max": 2.5}, "load_start": [2.0], "load_end": [2.0],
                       "benchmark_cell_seconds": 30.0}}


def figure(key: str) -> str:
    return f"{CHAPTER}_curves_{key}.png"


def test_a_run_adds_its_seed_and_keeps_the_reference_rows_it_did_not_train():
    old = result([row("dense98", 0.0100), row("seq2seq_geron", 0.0108), row("conv_keras_io", 0.001, seed=42)],
                 [figure("dense98"), figure("seq2seq_geron"), figure("conv_keras_io")])
    new = result([row("dense98", 0.0090), row("seq2seq_geron", 0.0104, seed=43)], [figure("dense98"), figure("seq2seq_geron")])
    merged = run.merge_full(copy.deepcopy(old), new, STAMP)
    rows = {r["key"]: r for r in merged["models"]}
    assert rows["dense98"]["val_mse"] == 0.0090, "the notebook's rows are the new run's"
    assert sorted(rows["seq2seq_geron"]["seeds"]) == ["42", "43"], "a row measured before seeds were recorded is seed 42"
    assert rows["seq2seq_geron"]["seeds"]["42"]["val_mse"] == 0.0108 and rows["seq2seq_geron"]["val_mse"] == 0.0104
    assert rows["seq2seq_geron"]["seeds"]["43"]["measured"] == STAMP
    assert rows["conv_keras_io"]["seeds"] == old["models"][2]["seeds"], "a reference not trained this time is kept"
    assert figure("conv_keras_io") in merged["figures"] and figure("seq2seq_geron") in merged["figures"]

    again = result([row("dense98", 0.0090), row("seq2seq_geron", 0.0110, seed=43)], [figure("dense98"), figure("seq2seq_geron")])
    rerun = {r["key"]: r for r in run.merge_full(merged, again, STAMP)["models"]}
    assert rerun["seq2seq_geron"]["seeds"]["43"]["val_mse"] == 0.0110, "a seed run again replaces its figure"
    assert len(rerun["seq2seq_geron"]["seeds"]) == 2


@pytest.mark.parametrize("figures, verdict", [
    ([0.0108], None), ([0.0108, 0.0101], None),  # fewer than three seeds: no verdict
    ([0.0108, 0.0101, 0.0105], True), ([0.0108, 0.0106, 0.0105], False),
    ([0.0108, 0.010449, 0.0106], True), ([0.0108, 0.010451, 0.0106], False)])  # at the reference's 4 digits
def test_a_reference_is_reproduced_only_within_the_range_of_three_seeds(figures, verdict):
    seeds = {str(42 + i): {"val_mse": value} for i, value in enumerate(figures)}
    reference = report.REFERENCES[CHAPTER, "seq2seq_geron"]
    ok, why = reference.verdict(row("seq2seq_geron", figures[-1], seeds=seeds), {})
    assert ok is verdict, why
    assert all(f"{value:.4f} (seed {seed})" in why for seed, value in zip(seeds, figures))


def test_the_denoiser_reference_makes_do_with_two_seeds_and_says_so():
    reference = report.REFERENCES[CHAPTER, "conv_denoiser_keras_io"]
    one = {"42": {"val_bce": 0.0841}}
    assert reference.verdict(row("conv_denoiser_keras_io", 0.007, seeds=one), {})[0] is None
    ok, why = reference.verdict(row("conv_denoiser_keras_io", 0.007, seeds={**one, "43": {"val_bce": 0.0835}}), {})
    assert ok is True and "two only" in why


def test_the_table_says_reproduced():
    seeds = {str(s): {"val_mse": v} for s, v in [(42, 0.0108), (43, 0.0101), (44, 0.0105)]}
    text = report.render({"full": {CHAPTER: result([row("seq2seq_geron", 0.0105, seeds=seeds)], [])}})
    assert "**reproduced**: val MSE over 3 seeds" in text


def test_a_model_on_the_chapters_budget_gets_its_ratio_and_share_not_a_verdict():
    # Géron's recurrent autoencoder: his 10 epochs of 55,000 images; the chapter's row trains 10 of 11,000.
    seq2seq = row("seq2seq", 0.0208, train_size=11_000)
    ok, why = report.REFERENCES[CHAPTER, "seq2seq"].verdict(seq2seq, {"seq2seq": seq2seq})
    assert ok is None
    assert "1/5 of the reference's" in why and "0.0208, 2.00 times 0.0104" in why
    assert "no verdict: on its budget" in report.render({"full": {CHAPTER: result([seq2seq], [])}, "fast": {}})
