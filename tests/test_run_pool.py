"""The training scripts' shared plumbing: argument checks, the shown command, running jobs."""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path

import pytest

from course_utils.run_pool import check_common_arguments, pin_fp32, run_jobs, shown_command, summary_line


def arguments(**overrides) -> argparse.Namespace:
    values = {"epochs": 20, "jobs": 2, "seeds": [0, 1, 2], "data": None} | overrides
    return argparse.Namespace(**values)


def test_good_arguments_pass():
    check_common_arguments(arguments())
    check_common_arguments(argparse.Namespace(epochs=1, jobs=1, seeds=[3]))      # a script without --data


@pytest.mark.parametrize("overrides, match", [
    ({"epochs": 0}, "--epochs=0 must be a positive integer"),
    ({"jobs": 0}, "--jobs=0 must be a positive integer"),
    ({"seeds": [0, -1]}, r"--seeds \[0, -1\] must be non-negative integers"),
    ({"seeds": [1, 1]}, r"--seeds \[1, 1\] must not repeat a seed"),
    ({"data": "no/such/file.npz"}, "--data='no/such/file.npz' is not a file: give the path of a CIFAR-10"),
])
def test_bad_arguments_are_refused(overrides, match):
    with pytest.raises(ValueError, match=match):
        check_common_arguments(arguments(**overrides))


def test_shown_command_cuts_paths_to_names():
    argv = ["--data", "/home/someone/shared/data/cifar10-jpeg.npz", "--results-dir", "/tmp/x/runs", "--jobs", "2"]
    assert shown_command("benchmarks/train_runs.py", argv) == (
        "python benchmarks/train_runs.py --data cifar10-jpeg.npz --results-dir runs --jobs 2")


def square(job: dict) -> dict:
    return {"job": job["n"], "square": job["n"] ** 2}


def test_run_jobs_in_process_prints_one_json_line_per_job(capsys):
    rows = run_jobs(square, [{"n": 2}, {"n": 3}], 1)
    assert rows == [{"job": 2, "square": 4}, {"job": 3, "square": 9}]
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == rows


@pytest.mark.parametrize("n_jobs, match", [(0, "n_jobs=0"), (True, "n_jobs=True")])
def test_run_jobs_refuses_a_bad_job_count(n_jobs, match):
    with pytest.raises(ValueError, match=match):
        run_jobs(square, [{"n": 1}], n_jobs)


def test_run_jobs_refuses_a_non_function():
    with pytest.raises(ValueError, match="train_one=3 must be a function"):
        run_jobs(3, [{"n": 1}], 1)


def test_provenance_command_cuts_machine_paths_even_before_they_exist(monkeypatch):
    from course_utils import provenance

    monkeypatch.setattr(provenance.sys, "argv", ["benchmarks/train_runs.py", "--results-dir",
                                                 "/no/such/folder/runs", "--data", "/also/not/here.npz"])
    monkeypatch.delenv("COURSE_COMMAND", raising=False)
    monkeypatch.delitem(provenance.sys.modules, "ipykernel", raising=False)
    assert provenance.command() == (
        "python benchmarks/train_runs.py --results-dir runs --data here.npz")


def test_summary_line_counts_trained_runs_and_cuts_paths():
    rows = [{"cached": True}, {"cached": False}, {"cached": False}]
    line = json.loads(summary_line("benchmarks/train_runs.py", ["--results-dir", "/a/b/runs"], rows, jobs=2,
                                   seconds=12.345, epochs=20))
    assert line == {"script": "train_runs", "runs": 3, "trained": 2, "epochs": 20, "jobs": 2, "seconds": 12.3,
                    "command": "python benchmarks/train_runs.py --results-dir runs"}


def test_summary_line_and_stored_runs_show_arguments_the_same_way(monkeypatch):
    """One rule (provenance.shown_argument) for both: repository paths relative, others cut to names."""
    from course_utils import provenance

    repo = Path(provenance.REPO_ROOT)
    argv = ["--data", str(repo / "data" / "README.md"), "--results-dir", "/no/such/runs", "--seeds", "0", "1"]
    monkeypatch.setattr(provenance.sys, "argv", ["benchmarks/train_runs.py", *argv])
    monkeypatch.delenv("COURSE_COMMAND", raising=False)
    monkeypatch.delitem(provenance.sys.modules, "ipykernel", raising=False)
    expected = "python benchmarks/train_runs.py --data data/README.md --results-dir runs --seeds 0 1"
    assert provenance.command() == expected
    assert shown_command("benchmarks/train_runs.py", argv) == expected


def test_the_training_scripts_pin_fp32(monkeypatch):
    monkeypatch.delenv("COURSE_PRECISION", raising=False)
    pin_fp32()
    assert os.environ["COURSE_PRECISION"] == "fp32"
    monkeypatch.setenv("COURSE_PRECISION", " FP32 ")
    pin_fp32()
    assert os.environ["COURSE_PRECISION"] == "fp32"
    for other in ("bf16", "auto"):
        monkeypatch.setenv("COURSE_PRECISION", other)
        with pytest.raises(ValueError, match=rf"COURSE_PRECISION={other!r}: the committed runs are trained in fp32"):
            pin_fp32()


@pytest.mark.parametrize("script", ["train_runs"])
def test_each_training_script_refuses_another_precision_before_training(script, monkeypatch, tmp_path):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{script}.py"
    spec = importlib.util.spec_from_file_location(script, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("COURSE_PRECISION", "bf16")
    with pytest.raises(ValueError, match="the committed runs are trained in fp32"):
        module.main(["squeezenet", "--results-dir", str(tmp_path), "--seeds", "0"])
    assert list(tmp_path.iterdir()) == []
