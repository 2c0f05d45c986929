"""course_utils.runs and the failure modes of course_utils.train: a stored run is returned only when it is
the run asked for (same code, hooks, starting weights) and its files are intact; saves are atomic and
paired; a failed save, a diverged loss and bad flags behave; live runs stay out of data/results/.

Everything runs on a tiny synthetic data set and tiny models: each test takes about a second."""
from __future__ import annotations

import ast
import importlib.util
import json
import multiprocessing
import os
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from course_utils import runs
from course_utils import train as train_module
from course_utils.data import CIFAR10Data
from course_utils.runs import (StoredRunError, TrainResult, code_fingerprints, normalised_source_hash,
                               read_record, read_weights, retrain_requested, save_run)
from course_utils.train import CURVE_TEST_IMAGES, TrainingDiverged, evaluate, reset_parameters, train

pytestmark = pytest.mark.precision     # make test runs these under both precision paths

FAST = {"epochs": 1, "batch_size": 32, "progress": False, "device": "cpu"}
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data() -> CIFAR10Data:
    """128 train / 48 test random images (4 steps per epoch at batch 32)."""
    g = torch.Generator().manual_seed(0)
    return CIFAR10Data(train_images=torch.randint(0, 256, (128, 3, 32, 32), dtype=torch.uint8, generator=g),
                       train_labels=torch.randint(0, 10, (128,), generator=g),
                       test_images=torch.randint(0, 256, (48, 3, 32, 32), dtype=torch.uint8, generator=g),
                       test_labels=torch.randint(0, 10, (48,), generator=g),
                       classes=tuple(f"class{i}" for i in range(10)), source="synthetic", identity="synthetic-128/48")


def tiny() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=4), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 10))


@pytest.fixture()
def stores(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """Point the local and committed stores at temporary folders."""
    local, committed = tmp_path / "local-results", tmp_path / "results"
    monkeypatch.setattr(runs, "LOCAL_RESULTS_DIR", local)
    monkeypatch.setattr(runs, "COMMITTED_RESULTS_DIR", committed)
    monkeypatch.setattr(train_module, "LOCAL_RESULTS_DIR", local)
    monkeypatch.setattr(train_module, "COMMITTED_RESULTS_DIR", committed)
    monkeypatch.delenv("COURSE_RESULTS", raising=False)
    monkeypatch.delenv("COURSE_RETRAIN", raising=False)
    return local, committed


STUDENT_NET = '''
import torch
from torch import nn


class StudentNet(nn.Module):
    """A student's network (same repr in both versions)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=4)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        x = self.conv(x).relu(){edit}
        return self.fc(x.mean((2, 3)))
'''


def load_student_module(tmp_path: Path, source: str, name: str = "student_net"):
    path = tmp_path / f"{name}_{abs(hash(source))}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------
# The key: code, hooks, starting weights
# ---------------------------------------------------------------------------------------------
def test_edited_forward_with_the_same_repr_retrains_or_is_refused(data, tmp_path, capsys):
    original = load_student_module(tmp_path, STUDENT_NET.format(edit=""))
    edited = load_student_module(tmp_path, STUDENT_NET.format(edit=" * 0"))
    assert repr(original.StudentNet()) == repr(edited.StudentNet())
    train(original.StudentNet(), data, name="student", cache_dir=tmp_path, **FAST)
    with pytest.raises(ValueError, match=r"student\.json.*code of StudentNet \(student_net\) changed"):
        train(edited.StudentNet(), data, name="student", cache_dir=tmp_path, on_mismatch="raise", **FAST)
    capsys.readouterr()
    again = train(edited.StudentNet(), data, name="student", cache_dir=tmp_path, **FAST)
    assert not again.cached
    message = "Retraining student: code of StudentNet (student_net) changed since the stored run"
    assert message in capsys.readouterr().out


def test_comments_and_docstrings_do_not_change_the_fingerprint_but_a_helper_does():
    base = ('def helper(x):\n    return x + 1\n\n'
            'class A:\n    """doc"""\n    def f(self, x):\n        return helper(x)\n')
    reformatted = ('# a comment\ndef helper( x ):\n    """new doc"""\n    return (x + 1)  # same\n\n\n'
                   'class A:\n    """other doc"""\n\n    def f(self, x):\n        return helper(x)\n')
    helper_edited = base.replace("x + 1", "x + 2")
    assert normalised_source_hash(base) == normalised_source_hash(reformatted)
    assert normalised_source_hash(base) != normalised_source_hash(helper_edited)


def test_course_classes_are_keyed_on_their_whole_file_and_classes_without_source_on_bytecode():
    from course_utils.layers.fire import Fire
    from course_utils.models import baseline_cnn

    fingerprints = code_fingerprints(baseline_cnn("fire", width=0.25))
    fire_file = REPO / "course_utils" / "layers" / "fire.py"
    assert fingerprints["Fire (course_utils/layers/fire.py)"] == normalised_source_hash(fire_file.read_text())
    assert Fire.__module__.startswith("course_utils")
    assert not any(label.startswith(("Conv2d", "Sequential", "Module")) for label in fingerprints)   # torch's own

    namespace_a, namespace_b = {"nn": nn}, {"nn": nn}
    body = "class Net(nn.Module):\n    def forward(self, x):\n        return x{}\n"
    exec(body.format(""), namespace_a)           # no source file: bytecode fallback
    exec(body.format(" * 2"), namespace_b)
    a, b = code_fingerprints(namespace_a["Net"]()), code_fingerprints(namespace_b["Net"]())
    assert a.keys() == b.keys() and a != b


def test_a_different_hook_or_no_hook_does_not_return_the_hooked_run(data, tmp_path, capsys):
    def slow_down(model, step, total_steps):
        pass

    def other(model, step, total_steps):
        model.zero_grad()

    train(tiny(), data, name="hooked", cache_dir=tmp_path, step_hook=slow_down, **FAST)
    assert not train(tiny(), data, name="hooked", cache_dir=tmp_path, **FAST).cached
    train(tiny(), data, name="hooked", cache_dir=tmp_path, step_hook=slow_down, **FAST)
    assert not train(tiny(), data, name="hooked", cache_dir=tmp_path, step_hook=other, **FAST).cached
    assert train(tiny(), data, name="hooked", cache_dir=tmp_path, step_hook=other, **FAST).cached


def test_closure_numbers_are_part_of_a_hooks_fingerprint():
    def factory(epochs):
        def hook(model, epoch):
            return {"fraction": epoch / epochs}
        return hook

    twenty, eight = (code_fingerprints(tiny(), {"epoch_hook": factory(n)}) for n in (20, 8))
    assert twenty != eight


def test_reset_false_is_keyed_on_the_starting_weights(data, tmp_path):
    first = tiny()
    train(first, data, name="resume", cache_dir=tmp_path, reset=False, **FAST)
    other_start = tiny()
    reset_parameters(other_start, seed=5)
    assert not train(other_start, data, name="resume", cache_dir=tmp_path, reset=False, **FAST).cached


def test_the_starting_weights_key_ignores_float32_last_bits_but_not_a_change():
    """Starting weights computed on another CPU may differ in the last float32 bit (a float64 SVD rounded, a
    sum in another order): the key rounds them to float16, the precision runs are stored in."""
    model = tiny()
    reset_parameters(model, seed=0)
    key = runs.weights_fingerprint(model)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.nextafter(p, torch.full_like(p, float("inf"))))      # one float32 step up
    assert runs.weights_fingerprint(model) == key
    with torch.no_grad():
        model[0].weight[0, 0, 0, 0] += 0.01
    assert runs.weights_fingerprint(model) != key


# ---------------------------------------------------------------------------------------------
# Files: missing or corrupt never returned; atomic and paired saves
# ---------------------------------------------------------------------------------------------
def test_missing_or_mismatched_weights_are_never_returned_as_cached(data, tmp_path, capsys):
    train(tiny(), data, name="w", cache_dir=tmp_path, **FAST)
    weights = tmp_path / json.loads((tmp_path / "w.json").read_text())["weights"]["file"]
    weights.unlink()
    capsys.readouterr()
    result = train(tiny(), data, name="w", cache_dir=tmp_path, **FAST)
    assert not result.cached and "is missing" in capsys.readouterr().out
    weights = tmp_path / json.loads((tmp_path / "w.json").read_text())["weights"]["file"]
    weights.write_bytes(weights.read_bytes()[:100])                      # truncated
    with pytest.raises(ValueError, match=r"does not match the recorded sha256.*retrain=True"):
        train(tiny(), data, name="w", cache_dir=tmp_path, on_mismatch="raise", **FAST)
    assert not train(tiny(), data, name="w", cache_dir=tmp_path, **FAST).cached


def test_truncated_json_names_the_file_and_the_fix(data, tmp_path):
    train(tiny(), data, name="t", cache_dir=tmp_path, **FAST)
    path = tmp_path / "t.json"
    path.write_text(path.read_text()[:50])
    with pytest.raises(StoredRunError, match=r"t\.json is corrupt or truncated.*delete it or pass retrain=True"):
        train(tiny(), data, name="t", cache_dir=tmp_path, **FAST)
    assert not train(tiny(), data, name="t", cache_dir=tmp_path, retrain=True, **FAST).cached


def _save_many(folder: str, worker: int, count: int) -> None:
    torch.set_num_threads(1)
    for i in range(count):
        marker = float(1000 * worker + i)
        model = nn.Linear(64, 64)
        with torch.no_grad():
            model.weight.fill_(marker)
            model.bias.fill_(marker)
        result = TrainResult(name="shared", test_accuracy=marker, history=[], params=0, macs=0, wall_time_s=0.0,
                             device="cpu", seed=worker, config={"marker": marker})
        save_run(result, model, folder, max_weights_bytes=10**6)


def test_two_processes_saving_the_same_name_leave_a_matching_pair(tmp_path):
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    workers = [context.Process(target=_save_many, args=(str(tmp_path), w, 20)) for w in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    record = read_record(tmp_path, "shared")
    state, why = read_weights(tmp_path, record)
    assert state is not None, why
    assert state["weight"].float().unique().tolist() == [pytest.approx(record["test_accuracy"], rel=1e-3)]
    assert record["config"]["marker"] == record["test_accuracy"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["shared.json", record["weights"]["file"]])


@pytest.mark.parametrize("failure", ["interrupt", "oserror", "file"])
def test_a_failed_save_still_returns_the_finished_run(data, tmp_path, monkeypatch, capsys, failure):
    cache_dir = tmp_path / "store"
    if failure == "file":
        cache_dir.write_text("not a folder")
    else:
        def broken_replace(src, dst):
            raise KeyboardInterrupt if failure == "interrupt" else PermissionError("read-only file system")
        monkeypatch.setattr(runs.os, "replace", broken_replace)
    result = train(tiny(), data, name="kept", cache_dir=cache_dir, **FAST)
    assert isinstance(result, TrainResult) and not result.partial and len(result.history) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Warning")]
    assert len(lines) == 1 and "could not be stored" in lines[0]
    if failure != "file":
        assert list(cache_dir.iterdir()) == []                             # no temporary file left behind


def test_a_record_without_weights_serves_only_callers_that_do_not_need_them(data, tmp_path, capsys):
    train(tiny(), data, name="light", cache_dir=tmp_path, max_weights_bytes=0, **FAST)
    assert json.loads((tmp_path / "light.json").read_text())["weights"] is None
    assert train(tiny(), data, name="light", cache_dir=tmp_path, max_weights_bytes=0, **FAST).cached
    capsys.readouterr()
    assert not train(tiny(), data, name="light", cache_dir=tmp_path, **FAST).cached
    assert "has no weights file" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# Local and committed stores
# ---------------------------------------------------------------------------------------------
def test_a_live_retrain_goes_to_the_local_store_and_leaves_committed_results_alone(data, stores, monkeypatch, capsys):
    local, committed = stores
    monkeypatch.setenv("COURSE_RESULTS", "committed")
    committed_run = train(tiny(), data, name="demo", **FAST)
    assert (committed / "demo.json").exists() and not local.exists()
    before = {p.name: p.read_bytes() for p in committed.iterdir()}
    monkeypatch.delenv("COURSE_RESULTS")
    capsys.readouterr()
    cached = train(tiny(), data, name="demo", **FAST)
    assert cached.cached and "the committed results" in capsys.readouterr().out

    live = train(tiny(), data, name="demo", retrain=True, seed=1, **{k: v for k, v in FAST.items()})
    out = capsys.readouterr().out
    assert "local-results" in out and "data/results/ is unchanged" in out
    assert {p.name: p.read_bytes() for p in committed.iterdir()} == before
    assert (local / "demo.json").exists()
    again = train(tiny(), data, name="demo", seed=1, **FAST)   # not in the committed store: the local run
    assert again.cached and again.test_accuracy == live.test_accuracy
    assert "your local store" in capsys.readouterr().out
    assert train(tiny(), data, name="demo", **FAST).test_accuracy == committed_run.test_accuracy


def test_a_live_retrain_of_the_committed_run_does_not_hide_it(data, stores, monkeypatch, capsys):
    local, committed = stores
    monkeypatch.setenv("COURSE_RESULTS", "committed")
    train(tiny(), data, name="demo", **FAST)
    monkeypatch.delenv("COURSE_RESULTS")
    train(tiny(), data, name="demo", retrain=True, **FAST)           # same configuration, trained live
    assert (local / "demo.json").exists()
    capsys.readouterr()
    reopened = train(tiny(), data, name="demo", **FAST)              # the next open of the notebook
    assert reopened.cached and "the committed results" in capsys.readouterr().out


def test_course_results_refuses_unknown_values(data, stores, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS", "yes")
    with pytest.raises(ValueError, match="COURSE_RESULTS='yes'"):
        train(tiny(), data, name="x", **FAST)


@pytest.mark.parametrize("raw, expected", [("", False), ("0", False), ("no", False), ("FALSE", False),
                                           ("1", True), ("Yes", True), ("true", True), (" TRUE ", True)])
def test_course_retrain_parsing(monkeypatch, raw, expected):
    monkeypatch.setenv("COURSE_RETRAIN", raw)
    assert retrain_requested() is expected


@pytest.mark.parametrize("raw", ["2", "y", "on", "nope"])
def test_course_retrain_refuses_anything_else(monkeypatch, raw):
    monkeypatch.setenv("COURSE_RETRAIN", raw)
    with pytest.raises(ValueError, match=f"COURSE_RETRAIN={raw!r} must be 1/0, true/false or yes/no"):
        retrain_requested()


def test_course_retrain_false_does_not_retrain(data, tmp_path, monkeypatch):
    train(tiny(), data, name="env", cache_dir=tmp_path, **FAST)
    monkeypatch.setenv("COURSE_RETRAIN", "false")
    assert train(tiny(), data, name="env", cache_dir=tmp_path, **FAST).cached


# ---------------------------------------------------------------------------------------------
# Divergence, budgets, strict flags, determinism
# ---------------------------------------------------------------------------------------------
class NaNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 10)

    def forward(self, x):
        return self.fc(x.mean((2, 3))) * float("nan")


def test_a_nan_loss_stops_training_and_is_never_stored(data, tmp_path):
    with pytest.raises(TrainingDiverged, match=r"loss is nan at epoch 1, step 1 \(learning rate"):
        train(NaNNet(), data, name="nan", cache_dir=tmp_path, **FAST)
    assert not (tmp_path / "nan.json").exists()


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": float("inf")}, "lr=inf"), ({"lr": float("nan")}, "lr=nan"), ({"lr": 0}, "lr=0"),
    ({"weight_decay": float("nan")}, "weight_decay=nan"), ({"weight_decay": -1e-3}, "weight_decay=-0.001"),
    ({"epochs": None, "budget_s": float("inf")}, "budget_s=inf"), ({"epochs": None, "budget_s": -1}, "budget_s=-1"),
    ({"epochs": 2.5}, "epochs=2.5"),
    ({"retrain": "no"}, "retrain='no'"), ({"tta": "no"}, "tta='no'"), ({"reset": "no"}, "reset='no'"),
    ({"live_plot": 1}, "live_plot=1"), ({"progress": None}, "progress=None"),
])
def test_train_refuses_bad_numbers_and_non_boolean_flags(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train(tiny(), data, **{**FAST, **kwargs})


def test_evaluate_refuses_a_non_boolean_tta(data):
    with pytest.raises(ValueError, match="tta='no'"):
        evaluate(tiny(), data.test_images, data.test_labels, tta="no")


def test_a_budget_too_small_for_one_step_is_refused(data, monkeypatch):
    ticks = iter(range(10**6))
    monkeypatch.setattr(train_module, "_clock", lambda: 0.5 * next(ticks))     # each reading: +0.5 s
    with pytest.raises(ValueError, match="budget_s=0.6 is too small for one training step"):
        train(tiny(), data, **{**FAST, "epochs": None, "budget_s": 0.6})


class OwnInitBN(nn.Module):
    """A model with its own reset_parameters() (like MobileNet's) that does not touch BatchNorm statistics."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.fc = nn.Conv2d(3, 4, 3, stride=4), nn.BatchNorm2d(4), nn.Linear(4, 10)

    def reset_parameters(self):
        self.conv.reset_parameters()
        self.fc.reset_parameters()
        nn.init.ones_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).relu().mean((2, 3)))


def test_the_same_seed_gives_the_same_run_with_a_reused_model(data):
    reused = OwnInitBN()
    first = train(reused, data, **FAST)
    second = train(reused, data, **FAST)
    fresh = OwnInitBN()
    third = train(fresh, data, **FAST)
    assert first.test_accuracy == second.test_accuracy == third.test_accuracy
    assert torch.equal(reused.bn.running_mean, fresh.bn.running_mean)
    assert reused.bn.num_batches_tracked.item() == fresh.bn.num_batches_tracked.item() == 4


# ---------------------------------------------------------------------------------------------
# Curves on a fixed slice, final number on the whole test set; live view
# ---------------------------------------------------------------------------------------------
def test_curves_use_the_first_test_images_and_the_final_number_all(data, monkeypatch):
    assert CURVE_TEST_IMAGES == 1000
    monkeypatch.setattr(train_module, "CURVE_TEST_IMAGES", 16)
    model = tiny()
    result = train(model, data, **FAST)
    assert result.config["curve_test_images"] == 16
    row = result.history[-1]
    assert row["curve_test_accuracy"] == evaluate(model, data.test_images[:16], data.test_labels[:16])[1]
    assert result.test_accuracy == evaluate(model, data.test_images, data.test_labels, tta=True)[1]


def test_live_plot_outside_a_notebook_shows_nothing_and_does_not_fail(data, capsys):
    result = train(tiny(), data, live_plot=True, **FAST)
    assert len(result.history) == 1 and "Figure" not in capsys.readouterr().out


def test_live_plot_updates_one_figure_in_place(data, stores, monkeypatch):
    import IPython.display

    calls = {"display": 0, "update": 0}

    class Handle:
        def update(self, obj):
            calls["update"] += 1

    def fake_display(obj, display_id=False):
        calls["display"] += 1
        assert display_id is True
        return Handle()

    monkeypatch.setattr(train_module, "_in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", fake_display)
    train(tiny(), data, live_plot=True, **{**FAST, "epochs": 3})
    assert calls == {"display": 1, "update": 3}


# ---------------------------------------------------------------------------------------------
# Provenance: one helper, no private imports in benchmarks/
# ---------------------------------------------------------------------------------------------
def test_benchmarks_use_the_shared_provenance_helper_and_no_private_names():
    for path in sorted((REPO / "benchmarks").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private {private} from {node.module}"
            if isinstance(node, ast.FunctionDef):
                assert node.name not in ("git_commit", "_git_commit"), f"{path.name} has its own {node.name}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value != "rev-parse", f"{path.name} runs git itself"


def test_the_commit_is_not_dirty_because_of_run_stores():
    from course_utils.provenance import RUN_STORES, provenance

    assert set(RUN_STORES) == {"data/results", "data/local-results"}
    record = provenance("cpu")
    assert set(record) == {"command", "device", "date", "commit", "torch"}
    assert "/" + "root" not in record["command"] and str(REPO) not in record["command"]
    assert "data/local-results/" in (REPO / ".gitignore").read_text().splitlines()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


def test_stored_files_get_the_usual_permissions_not_mkstemp_private_ones(tmp_path):
    save_run(TrainResult(name="perm", test_accuracy=0.5, history=[], params=1, macs=1, wall_time_s=0.0,
                         device="cpu", seed=0, config={}), nn.Linear(2, 2), tmp_path, max_weights_bytes=10_000)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    mask = os.umask(0)
    os.umask(mask)
    expected = 0o666 & ~mask
    assert modes and all(mode == expected for mode in modes.values()), modes
