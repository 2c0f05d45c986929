"""Make the committed runs of one family of the catalog (``course_utils.experiments.catalog.FAMILIES``).

    python benchmarks/train_runs.py lab --jobs 2                  # make sweep: every lab operator, 3 widths × 3 seeds
    python benchmarks/train_runs.py reference --data PATH/cifar10-jpeg.npz --jobs 2     # make reference-results
    python benchmarks/train_runs.py sal_controls --jobs 2         # make sal-controls
    python benchmarks/train_runs.py squeezenet --jobs 2           # make squeezenet-results
    python benchmarks/train_runs.py decomposition                 # make decomposition-results
    # a smoke test on a slice of the bundled data, written somewhere harmless:
    python benchmarks/train_runs.py lab --variants shift --seeds 0 --widths 0.5 --train-images 512 \\
        --test-images 500 --results-dir /some/tmp/dir

Each run is ``course_utils.experiments.make_run``: trained with its catalog recipe (float32 on any CPU:
``run_pool.pin_fp32``) and stored with its record and provenance in ``data/results/`` (or ``--results-dir``).
``--jobs N`` trains N runs at a time, each in its own process with one thread (on 2 cores, two 1-thread runs
side by side finish sooner than two 2-thread runs one after the other); a run that needs another stored first
(a fine-tune needs its start) waits for it. Stored runs that match are loaded, not retrained, so an
interrupted family resumes where it stopped. One JSON line per run, then a summary line.
"""
from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

from course_utils.data import DATA_DIR, KNOWN_DIGESTS
from course_utils.experiments.catalog import FAMILIES, RunSpec, family_specs
from course_utils.run_pool import check_common_arguments, pin_fp32, run_jobs, summary_line
from course_utils.runs import COMMITTED_RESULTS_DIR

_DATA = {}


def _load_data(job: dict):
    """The job's data set (a file, or a slice of the bundled one), loaded once per process."""
    from course_utils.data import load_cifar10

    key = (job["data"], job["train_images"], job["test_images"])
    if key not in _DATA:
        _DATA[key] = load_cifar10(path=job["data"]).subset(train=job["train_images"], test=job["test_images"])
    return _DATA[key]


def _train(job: dict) -> dict:
    """One run in a worker process."""
    from course_utils.experiments import make_run

    data = _load_data(job)
    row = make_run(job["name"], data, folder=job["results_dir"], retrain=job["retrain"])
    return {k: row[k] for k in ("name", "accuracy", "soft_accuracy", "params", "macs", "epochs", "wall_time_s",
                                "cached", "device", "commit")} | {"train_images": len(data.train_labels),
                                                                   "test_images": len(data.test_labels)}


def data_file(spec: RunSpec, given: str | None) -> str:
    """The data file a run trains on: ``--data`` (which must be the file its catalog entry names), or the
    bundled file from ``data/``."""
    if given is None:
        if not (DATA_DIR / spec.data).is_file():
            raise ValueError(f"{spec.name} trains on {spec.data}, which is not in data/: give its path with --data "
                             "(see data/README.md)")
        return str(DATA_DIR / spec.data)
    if Path(given).name != spec.data:
        raise ValueError(f"--data={given!r}: {spec.name} trains on {spec.data} (known digest "
                         f"{KNOWN_DIGESTS[spec.data]}), not on {Path(given).name}")
    return given


def stages(specs: list[RunSpec]) -> list[list[RunSpec]]:
    """The runs in groups that can train side by side: a run comes after every run of ``after`` it names."""
    done: set[str] = set()
    names = {spec.name for spec in specs}
    left, groups = list(specs), []
    while left:
        ready = [s for s in left if all(n in done or n not in names for n in s.after)]
        if not ready:
            raise ValueError(f"runs {[s.name for s in left]} wait for each other")
        groups.append(ready)
        done.update(s.name for s in ready)
        left = [s for s in left if s not in ready]
    return groups


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("family", choices=list(FAMILIES))
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default: the family's")
    parser.add_argument("--variants", nargs="+", default=None, help="lab, reference: default all")
    parser.add_argument("--widths", nargs="+", type=float, default=None, help="lab: default each variant's three")
    parser.add_argument("--controls", nargs="+", default=None, help="sal_controls: default all")
    parser.add_argument("--data", default=None, help="the data file of the family's runs, when it is not in data/")
    parser.add_argument("--results-dir", default=None, help="default: data/results/")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at a time, one thread each")
    parser.add_argument("--retrain", action="store_true", help="train even when a matching result is stored")
    parser.add_argument("--train-images", type=int, default=None,
                        help="train on the first N training images only (smoke tests; needs --results-dir)")
    parser.add_argument("--test-images", type=int, default=None,
                        help="test on the first N test images only (smoke tests; needs --results-dir)")
    raw = list(argv if argv is not None else sys.argv[1:])
    args = parser.parse_args(raw)
    check_common_arguments(args)
    selection = {name: value for name, value in (("seeds", args.seeds), ("variants", args.variants),
                                                 ("widths", args.widths), ("controls", args.controls))
                 if value is not None}
    accepted = inspect.signature(FAMILIES[args.family].specs).parameters
    for name in selection:
        if name not in accepted:
            raise ValueError(f"--{name} does not apply to the family {args.family} (it takes "
                             f"{', '.join('--' + p for p in accepted) or 'no selection'})")
    specs = family_specs(args.family, **selection)
    for flag, value in (("--train-images", args.train_images), ("--test-images", args.test_images)):
        if value is not None and value < 1:
            raise ValueError(f"{flag}={value} must be a positive integer")
        if value is not None and args.results_dir is None:
            raise ValueError(f"{flag}={value} needs --results-dir: a run on a slice of the data must not be "
                             "stored next to the committed runs")
    results_dir = str(Path(args.results_dir) if args.results_dir else COMMITTED_RESULTS_DIR)
    jobs = [[{"name": spec.name, "data": data_file(spec, args.data), "results_dir": results_dir,
              "retrain": args.retrain, "train_images": args.train_images, "test_images": args.test_images}
             for spec in group] for group in stages(specs)]
    pin_fp32()
    start = time.perf_counter()
    rows = [row for group in jobs for row in run_jobs(_train, group, args.jobs)]
    print(summary_line("benchmarks/train_runs.py", raw, rows, jobs=args.jobs, seconds=time.perf_counter() - start,
                       family=args.family, train_images=rows[0]["train_images"] if rows else None))
    return rows


if __name__ == "__main__":
    main()
