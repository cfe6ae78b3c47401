"""Benchmark every chapter: train its models in the full profile, time its notebook in the fast profile.

    python benchmarks/run.py                              # everything, then benchmarks/RESULTS.md
    python benchmarks/run.py --chapters ch04_kl_divergence  # one chapter (merged into results.json)
    python benchmarks/run.py --skip-full                  # fast-profile timings only
    python benchmarks/run.py --report-only                # rewrite RESULTS.md from results.json
    python benchmarks/run.py --references none            # the notebooks' own models, no reference set-ups
    python benchmarks/run.py --references seq2seq_geron --seed 43  # one reference set-up, one more seed

Full profile: each solution notebook is executed unchanged (nbclient, a fresh kernel,
``AEWORKBOOK_PROFILE=full``) with two cells added around it: one after the set-up cell
that records every ``fit`` call, and one at the end that measures the models the
notebook trained, by their names (:mod:`measures`). Fast profile: each notebook is
executed unchanged, kernel start included, and a kernel start plus the set-up cell
alone is timed separately. Notebooks run one at a time. Not part of the unit tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import report  # beside this file: on the path when run as a script
from aeworkbook.course.catalogue import chapters

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOLUTIONS = ROOT / "solutions"
OUT = HERE  # where results.json, RESULTS.md, figures/ and raw/ go (--out changes it, for trial runs)


CHAPTERS = {chapter.id: SOLUTIONS / chapter.id / chapter.notebook for chapter in chapters(SOLUTIONS)}


def chapter_ids() -> list[str]:
    return list(CHAPTERS)


def notebook_path(chapter: str) -> Path:
    return CHAPTERS[chapter]


def kernel_env(profile: str) -> dict:
    env = dict(os.environ, AEWORKBOOK_PROFILE=profile)
    env.pop("NBGRADER_EXECUTION", None)
    # This checkout's helper package first, whatever the environment has installed.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def code_cell(source: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["benchmark"] = True
    return cell


def execute(nb, chapter: str, profile: str, timeout: int | None) -> dict:
    """Execute ``nb`` in a fresh kernel; wall time with kernel start, and the time of every cell."""
    load_start = os.getloadavg()
    cell_start, cell_seconds = {}, {}
    marks = {}

    def on_cell_execute(cell, cell_index):
        cell_start[cell_index] = time.perf_counter()

    def on_cell_executed(cell, cell_index, execute_reply):
        cell_seconds[cell_index] = time.perf_counter() - cell_start[cell_index]

    def on_notebook_start(notebook):
        marks["kernel_ready"] = time.perf_counter()

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook_path(chapter).parent)}},
                            on_cell_execute=on_cell_execute, on_cell_executed=on_cell_executed,
                            on_notebook_start=on_notebook_start)
    samples, done = [], threading.Event()

    def sample_load():  # the 1-minute load average every 5 s, to see contention during the run, not only at its ends
        while not done.wait(5):
            samples.append(os.getloadavg()[0])

    sampler = threading.Thread(target=sample_load, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        client.execute(env=kernel_env(profile))
    finally:
        done.set()
        sampler.join()
    total = time.perf_counter() - start
    benchmark_cells = [i for i, c in enumerate(nb.cells) if c.metadata.get("benchmark")]
    return {"total_seconds": total, "kernel_start_seconds": marks["kernel_ready"] - start,
            "cell_seconds": {i: s for i, s in sorted(cell_seconds.items())},
            "notebook_cell_seconds": sum(s for i, s in cell_seconds.items() if i not in benchmark_cells),
            "benchmark_cell_seconds": sum(s for i, s in cell_seconds.items() if i in benchmark_cells),
            "load_start": load_start, "load_end": os.getloadavg(),
            "load_during": {"mean": sum(samples) / len(samples), "max": max(samples)} if samples else None}


def first_code_index(nb) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")


def run_full(chapter: str, out: Path, profile: str = "full", references: list[str] = (), seed: int = 42) -> dict:
    """The chapter in the full profile, with the fit recorder and the measurements added; ``references``: the
    chapter's reference set-ups to train after its own models, seeded with ``seed``."""
    nb = nbformat.read(notebook_path(chapter), as_version=4)
    setup = first_code_index(nb)
    (out / "raw").mkdir(parents=True, exist_ok=True)
    out_json = out / "raw" / f"{chapter}.json"
    out_json.unlink(missing_ok=True)
    nb.cells.insert(setup + 1, code_cell("import measures\nmeasures.install_fit_recorder()"))
    nb.cells.append(code_cell(
        f"measures.measure_chapter({chapter!r}, globals(), {str(out / 'figures')!r}, {str(out_json)!r}, "
        f"references={list(references)!r}, seed={seed})"))
    timing = execute(nb, chapter, profile, timeout=None)
    nbformat.write(nb, out / "raw" / f"{chapter}.ipynb")  # its outputs and figures, to check the prose against
    measured = json.loads(out_json.read_text())
    # The notebook's own work: its cells, without the two added ones (the end cell trains the reference set-ups).
    return {**measured, "timing": timing,
            "notebook_seconds": timing["kernel_start_seconds"] + timing["notebook_cell_seconds"]}


def merge_full(old: dict | None, new: dict, stamp: dict) -> dict:
    """A chapter's new full run over its previous one. The notebook's rows are replaced; a reference set-up's row
    (one with ``seeds``) adds its new seed to the seeds measured before (a seed run again is replaced), and one
    not trained this time is kept as it was, with its figure."""
    load = new["timing"]["load_during"]
    for row in new["models"]:
        for run in row.get("seeds", {}).values():
            run.update(measured=stamp, load_during=load)
    if not old:
        return new
    rows = {row["key"]: row for row in new["models"]}
    for row in old["models"]:
        if (new["chapter"], row["key"]) not in report.REFERENCE_SETUPS:
            continue
        seeds = row.get("seeds") or {"42": {key: row[key] for key in ("val_bce", "val_mse", "epochs", "wall_seconds")}
                                     | {"measured": old.get("measured")}}  # measured before seeds were recorded
        if row["key"] in rows:
            rows[row["key"]]["seeds"] = {**seeds, **rows[row["key"]]["seeds"]}
        else:
            new["models"].append({**row, "seeds": seeds})
            new["figures"] += [name for name in old["figures"] if name.endswith(f"_curves_{row['key']}.png")]
    return new


def run_fast(chapter: str) -> dict:
    """The unchanged notebook in the fast profile, and a kernel start plus its set-up cell alone."""
    nb = nbformat.read(notebook_path(chapter), as_version=4)
    setup_only = nbformat.v4.new_notebook(cells=[nb.cells[first_code_index(nb)]], metadata=nb.metadata)
    startup = execute(setup_only, chapter, "fast", timeout=600)
    whole = execute(nb, chapter, "fast", timeout=600)
    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    return {"setup_cell": nb.cells[first_code_index(nb)].source,
            "output_bytes": sum(len(json.dumps(output)) for output in outputs),  # what the grader's output limit counts
            "kernel_and_setup_seconds": startup["total_seconds"], "startup_run": startup, "whole_run": whole,
            "total_seconds": whole["total_seconds"],
            "own_work_seconds": whole["total_seconds"] - startup["total_seconds"]}


def machine() -> dict:
    from importlib.metadata import version

    def cpuinfo(key):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
        return None

    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
            "cores": os.cpu_count(), "cpu": cpuinfo("model name"), "ram_gb": round(mem_kb / 1024 ** 2, 1),
            "os": platform.platform(), "python": platform.python_version(), "tensorflow": version("tensorflow"),
            "keras": version("keras"), "numpy": version("numpy"), "matplotlib": version("matplotlib"),
            "commit": commit}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="+", choices=chapter_ids(),
                        help="chapters to run (default: all, or those of the named --references); results merge into "
                             "results.json")
    parser.add_argument("--skip-full", action="store_true", help="no full-profile training")
    parser.add_argument("--skip-fast", action="store_true", help="no fast-profile timing")
    parser.add_argument("--report-only", action="store_true", help="only rewrite RESULTS.md from results.json")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default: benchmarks/)")
    parser.add_argument("--training-profile", choices=["full", "fast"], default="full",
                        help="profile of the training run; 'fast' only to try the benchmark itself out quickly")
    setups = sorted({key for _, key in report.REFERENCE_SETUPS})
    parser.add_argument("--references", nargs="+", choices=["all", "none", *setups], default=["all"], metavar="NAME",
                        help="reference set-ups to train after the notebooks' models (these take minutes to an hour "
                             f"each): all (default), none, or some of {', '.join(setups)}; their rows keep the seeds "
                             "of earlier runs")
    parser.add_argument("--seed", type=int, default=42, help="seed of the reference set-ups (default 42)")
    args = parser.parse_args(argv)
    if len(args.references) > 1 and {"all", "none"} & set(args.references):
        parser.error("--references: 'all' and 'none' stand alone")
    references = {"all": setups, "none": []}.get(args.references[0], args.references)
    if args.chapters is None:
        named = args.references[0] not in ("all", "none")
        args.chapters = [chapter for chapter in chapter_ids()
                         if not named or any((chapter, name) in report.REFERENCE_SETUPS for name in references)]
    args.out.mkdir(parents=True, exist_ok=True)
    results_json = args.out / "results.json"

    results = json.loads(results_json.read_text()) if results_json.exists() else {"full": {}, "fast": {}}
    if not args.report_only:
        results["machine"] = machine()
        stamp = {key: results["machine"][key] for key in ("date", "commit")}  # a chapter's rows may be older
        if not args.skip_full:
            for chapter in args.chapters:
                print(f"[full] {chapter} ...", flush=True)
                new = {**run_full(chapter, args.out, args.training_profile,
                                  [name for name in references if (chapter, name) in report.REFERENCE_SETUPS], args.seed),
                       "measured": stamp}
                results["full"][chapter] = merge_full(results["full"].get(chapter), new, stamp)
                print(f"[full] {chapter}: {results['full'][chapter]['timing']['total_seconds']:.0f} s", flush=True)
                results_json.write_text(json.dumps(results, indent=1))
        if not args.skip_fast:
            start, load_start = time.perf_counter(), os.getloadavg()
            for chapter in args.chapters:
                print(f"[fast] {chapter} ...", flush=True)
                results["fast"][chapter] = {**run_fast(chapter), "measured": stamp}
                print(f"[fast] {chapter}: {results['fast'][chapter]['total_seconds']:.1f} s", flush=True)
            if set(args.chapters) == set(chapter_ids()):
                results["fast_workbook"] = {"load_start": load_start, "load_end": os.getloadavg(),
                                            "loop_seconds_with_setup_only_runs": time.perf_counter() - start}
        results_json.write_text(json.dumps(results, indent=1))
    reproduction = args.out / "keras_io_vqvae.json"  # written by keras_io_vqvae.py, a run of its own (about 30 min a seed)
    if reproduction.exists():
        results["keras_io_vqvae"] = json.loads(reproduction.read_text())
    (args.out / "RESULTS.md").write_text(report.render(results))
    print(f"wrote {args.out / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
