"""Notebook 03's SqueezeNet-CIFAR runs: named like the lab's, loaded without training, committed for
three seeds, made by benchmarks/train_squeezenet.py."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from course_utils.data import load_cifar10
from course_utils.models import squeezenet_runs
from course_utils.models.operator_lab import SEEDS
from course_utils.models.squeezenet_runs import load_squeezenet_runs, run_name
from course_utils.sweeps import MissingRunError

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_squeezenet.py"


def test_run_names_follow_the_labs_rule():
    assert run_name() == run_name(0) == "nb03_squeezenet_cifar"
    assert run_name(2) == "nb03_squeezenet_cifar_seed2"
    with pytest.raises(ValueError, match="seed=-1"):
        run_name(-1)


def test_a_missing_run_is_an_error_naming_the_script_not_a_training(monkeypatch, tmp_path):
    monkeypatch.setattr(squeezenet_runs, "read_stores", lambda: [tmp_path])
    monkeypatch.setattr("course_utils.train.train", lambda *a, **k: pytest.fail("load_squeezenet_runs trained"))
    with pytest.raises(MissingRunError, match="benchmarks/train_squeezenet.py"):
        load_squeezenet_runs(load_cifar10().subset(train=256, test=100), seeds=[0])


def test_the_committed_runs_hold_every_seed_and_trained():
    runs = load_squeezenet_runs(load_cifar10())
    assert sorted(runs["seed"]) == sorted(SEEDS) and len(SEEDS) >= 3
    assert (runs["params"] == 44_874).all() and runs["cached"].all()
    assert (runs["accuracy"] > 0.4).all()                  # trained: chance is 0.1
    assert all(len(history) == 20 for history in runs["history"])


def test_the_script_refuses_bad_arguments():
    spec = importlib.util.spec_from_file_location("train_squeezenet", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for argv, word in ((["--jobs", "0"], "--jobs=0"), (["--epochs", "0"], "--epochs=0"),
                       (["--seeds", "1", "1"], "repeat"), (["--seeds", "-1"], "non-negative"),
                       (["--data", "no/such/file.npz"], "is not a file")):
        with pytest.raises(ValueError, match=word):
            script.main(argv)
