"""course_utils.runs and the failure modes of course_utils.training: a stored run is returned only when it is
the run asked for (same key: architecture, code, hooks, training code, recipe, seed, data, starting
weights), its files are intact and checked; saves are atomic and paired; a failed save, a diverged run and
bad flags behave; live runs stay out of data/results/; reading never trains.

Everything runs on a tiny synthetic data set and tiny models: each test takes about a second."""
from __future__ import annotations

import ast
import dataclasses
import json
import linecache
import multiprocessing
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from course_utils import fingerprint, runs
from course_utils import training as train_module
from course_utils.data import CIFAR10Data
from course_utils.runs import (MissingRunError, Store, StoredRunError, TrainResult, read_record, read_weights,
                               retrain_requested, save_run)
from course_utils.training import (CURVE_TEST_IMAGES, MAX_STORED_LOSS, TrainConfig, TrainingDiverged, evaluate,
                                reset_parameters, run_key, train)

pytestmark = pytest.mark.precision     # make test runs these under both precision paths

FAST = TrainConfig(epochs=1, batch_size=32, progress=False, device="cpu")
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


def fast(**changes) -> TrainConfig:
    return dataclasses.replace(FAST, **changes)


@pytest.fixture()
def stores(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """Point the local and committed stores at temporary folders."""
    local, committed = tmp_path / "local-results", tmp_path / "results"
    monkeypatch.setattr(runs, "LOCAL_RESULTS_DIR", local)
    monkeypatch.setattr(runs, "COMMITTED_RESULTS_DIR", committed)
    monkeypatch.delenv("COURSE_RESULTS", raising=False)
    monkeypatch.delenv("COURSE_RETRAIN", raising=False)
    return local, committed


class Cell:
    """Code run the way a notebook cell runs it: compiled from text that ``inspect`` can read back (IPython
    registers each cell in ``linecache``), in one namespace shared by every cell, as ``__main__``."""

    def __init__(self) -> None:
        self.namespace = {"__name__": "__main__", "nn": nn, "torch": torch}
        self.count = 0

    def run(self, source: str) -> dict:
        self.count += 1
        filename = f"<notebook cell {id(self)}-{self.count}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        exec(compile(source, filename, "exec"), self.namespace)
        return self.namespace


BLOCK = '''
class Block(nn.Module):
    slope = 0.01

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=4)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        return self.fc(act(self.conv(x), self.slope).mean((2, 3)))
'''


# ---------------------------------------------------------------------------------------------
# The key: what changes a run's numbers changes it; a stale run is retrained or refused
# ---------------------------------------------------------------------------------------------
def test_a_redefined_helper_of_a_notebook_block_retrains(data, tmp_path, capsys):
    """(a) forward calls a helper act(x); act is defined again in a later cell: the stored run is not served."""
    cell = Cell()
    cell.run("def act(x, slope):\n    return nn.functional.leaky_relu(x, slope)\n")
    cell.run(BLOCK)
    first = train(cell.namespace["Block"](), data, FAST, name="b", store=Store(tmp_path))
    assert not first.cached and (tmp_path / "b.json").exists()
    assert train(cell.namespace["Block"](), data, FAST, name="b", store=Store(tmp_path)).cached
    cell.run("def act(x, slope):\n    return torch.sigmoid(x)\n")
    capsys.readouterr()
    again = train(cell.namespace["Block"](), data, FAST, name="b", store=Store(tmp_path))
    assert not again.cached
    assert "Retraining b: code of act (__main__) changed since the stored run" in capsys.readouterr().out


def test_an_edited_constant_of_a_notebook_class_retrains(data, tmp_path, capsys):
    """(b) a class attribute (slope 0.01 → −1.0) is part of the key, though the class has no readable source."""
    cell = Cell()
    cell.run("def act(x, slope):\n    return nn.functional.leaky_relu(x, slope)\n")
    cell.run(BLOCK)
    train(cell.namespace["Block"](), data, FAST, name="b", store=Store(tmp_path))
    cell.run(BLOCK.replace("slope = 0.01", "slope = -1.0"))
    capsys.readouterr()
    assert not train(cell.namespace["Block"](), data, FAST, name="b", store=Store(tmp_path)).cached
    assert "code of Block (__main__) changed" in capsys.readouterr().out


def test_course_code_edited_on_disk_after_import_is_never_stored(data, tmp_path, monkeypatch, capsys):
    """(c) the process runs Fire.forward as imported, the file on disk now says otherwise: nothing is stored
    (it would be stored under the new code's key) and the message says to restart the kernel."""
    from course_utils.layers import Fire
    from course_utils.models import baseline_cnn

    path = Path(Fire.forward.__code__.co_filename).resolve()
    imported = fingerprint.IMPORTED_SOURCES[path]
    assert "return torch.cat" in imported
    monkeypatch.setitem(fingerprint.IMPORTED_SOURCES, path, imported.replace("return torch.cat", "return 0 * torch.cat"))
    fingerprint._SOURCES.clear()
    try:
        result = train(baseline_cnn("fire", width=0.25), data, FAST, name="fire", store=Store(tmp_path))
    finally:
        fingerprint._SOURCES.clear()
    out = capsys.readouterr().out
    assert "Fire.forward in course_utils/layers/fire.py changed on disk since this process imported" in out
    assert "restart the kernel" in out and "will not be stored" in out
    assert not result.cached and not (tmp_path / "fire.json").exists()


def test_other_data_under_the_same_identity_retrains(data, tmp_path, capsys):
    """(d) the same identity string with other labels: the data digest tells them apart."""
    train(tiny(), data, FAST, name="d", store=Store(tmp_path))
    shuffled = dataclasses.replace(data, train_labels=data.train_labels.flip(0))
    assert shuffled.identity == data.identity and shuffled.digest != data.digest
    capsys.readouterr()
    assert not train(tiny(), shuffled, FAST, name="d", store=Store(tmp_path)).cached
    assert "data changed" in capsys.readouterr().out


def test_a_diverged_run_is_returned_but_never_stored(data, tmp_path, capsys):
    """(e) lr=1e6: the loss becomes NaN (TrainingDiverged) or the run finishes far above MAX_STORED_LOSS."""
    from course_utils.models import baseline_cnn

    try:
        result = train(baseline_cnn(width=0.25), data, fast(lr=1e6, epochs=2), name="boom", store=Store(tmp_path))
    except TrainingDiverged:
        result = None
    out = capsys.readouterr().out
    if result is not None:
        assert max(row["train_loss"] for row in result.history) > MAX_STORED_LOSS
        assert "boom: finished but not stored" in out and f"above MAX_STORED_LOSS = {MAX_STORED_LOSS:g}" in out
    assert not (tmp_path / "boom.json").exists()


def test_a_history_with_a_huge_or_non_finite_value_is_not_worth_storing():
    assert "above MAX_STORED_LOSS = 10" in train_module._diverged([{"train_loss": 2.1e16}])
    assert "NaN or infinite" in train_module._diverged([{"train_loss": 1.0, "curve_test_loss": float("nan")}])
    assert train_module._diverged([{"train_loss": 2.3}]) is None


@pytest.mark.parametrize("smoothing", [1.0, 1.5, -0.1])
def test_label_smoothing_must_lie_in_0_1(smoothing):
    with pytest.raises(ValueError, match=rf"label_smoothing={smoothing} must be a finite number in \[0, 1\)"):
        TrainConfig(label_smoothing=smoothing)


def test_the_key_holds_the_recipe_precision_seed_data_and_code(data):
    key, unknown = run_key(tiny(), data.digest, FAST)
    assert unknown == []
    assert set(key) == {"name", "architecture", "module_state", "code", "training_code", "recipe", "seed", "data",
                        "initial_weights"}
    assert key["recipe"]["precision"] in ("fp32", "bf16") and key["recipe"]["curve_test_images"] == CURVE_TEST_IMAGES
    assert run_key(tiny(), data.digest, fast(precision="fp32"))[0]["recipe"]["precision"] == "fp32"
    assert run_key(tiny(), data.digest, fast(precision="bf16"))[0]["recipe"]["precision"] == "bf16"
    assert run_key(tiny(), data.digest, fast(seed=3))[0]["seed"] == 3
    assert "device" not in key["recipe"] and "progress" not in key["recipe"]      # provenance, not key


def test_the_training_code_is_part_of_the_key(monkeypatch):
    """The loop, its schedule, the evaluation and the initialisation, read from their source."""
    before = train_module.training_code_key()[0]
    path = Path(train_module._fit.__code__.co_filename).resolve()
    text = fingerprint.IMPORTED_SOURCES[path]
    monkeypatch.setitem(fingerprint.IMPORTED_SOURCES, path, text.replace("nesterov=True)", "nesterov=False)"))
    monkeypatch.setattr(fingerprint, "changed_on_disk", lambda function, imported: False)
    fingerprint._SOURCES.clear()
    try:
        assert train_module.training_code_key()[0] != before
    finally:
        fingerprint._SOURCES.clear()


def test_a_module_attribute_that_repr_does_not_show_is_part_of_the_key(data):
    """Of our own classes (an installed class's settings are in its repr, its other attributes vary with its
    version); for every module, what trains (requires_grad)."""
    from course_utils.models import baseline_cnn

    plain, other = baseline_cnn(width=0.25), baseline_cnn(width=0.25)
    other.note = "changed"
    assert repr(plain) == repr(other)
    assert run_key(plain, data.digest, FAST)[0]["module_state"] != run_key(other, data.digest, FAST)[0]["module_state"]
    plain, other = tiny(), tiny()
    other[0].note = "a torch module's own attribute: not read"
    assert run_key(plain, data.digest, FAST)[0]["module_state"] == run_key(other, data.digest, FAST)[0]["module_state"]
    frozen = tiny()
    frozen[0].weight.requires_grad_(False)
    assert run_key(frozen, data.digest, FAST)[0]["module_state"] != run_key(plain, data.digest, FAST)[0]["module_state"]


def test_code_without_source_is_never_served_nor_stored(data, tmp_path, capsys):
    namespace = {"nn": nn}
    exec("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
         "        self.fc = nn.Linear(3, 10)\n    def forward(self, x):\n        return self.fc(x.mean((2, 3)))\n",
         namespace)
    result = train(namespace["Net"](), data, FAST, name="nosource", store=Store(tmp_path))
    assert "not looked up in the stored runs, and will not be stored" in capsys.readouterr().out
    assert not result.cached and not (tmp_path / "nosource.json").exists()


def test_reset_false_is_keyed_on_the_starting_weights(data, tmp_path):
    first = tiny()
    train(first, data, fast(reset=False), name="resume", store=Store(tmp_path))
    other_start = tiny()
    reset_parameters(other_start, seed=5)
    assert not train(other_start, data, fast(reset=False), name="resume", store=Store(tmp_path)).cached


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


def test_a_different_hook_or_no_hook_does_not_return_the_hooked_run(data, tmp_path):
    from course_utils.training import Hooks

    def slow_down(model, step, total_steps):
        pass

    def other(model, step, total_steps):
        model.zero_grad()

    train(tiny(), data, FAST, name="hooked", store=Store(tmp_path), hooks=Hooks(step=slow_down))
    assert not train(tiny(), data, FAST, name="hooked", store=Store(tmp_path)).cached
    train(tiny(), data, FAST, name="hooked", store=Store(tmp_path), hooks=Hooks(step=slow_down))
    assert not train(tiny(), data, FAST, name="hooked", store=Store(tmp_path), hooks=Hooks(step=other)).cached
    assert train(tiny(), data, FAST, name="hooked", store=Store(tmp_path), hooks=Hooks(step=other)).cached


# ---------------------------------------------------------------------------------------------
# Files: missing or corrupt never returned; records checked; atomic and paired saves
# ---------------------------------------------------------------------------------------------
def test_missing_or_mismatched_weights_are_never_returned_as_cached(data, tmp_path, capsys):
    train(tiny(), data, FAST, name="w", store=Store(tmp_path))
    weights = tmp_path / json.loads((tmp_path / "w.json").read_text())["weights"]["file"]
    weights.unlink()
    capsys.readouterr()
    result = train(tiny(), data, FAST, name="w", store=Store(tmp_path))
    assert not result.cached and "is missing" in capsys.readouterr().out
    weights = tmp_path / json.loads((tmp_path / "w.json").read_text())["weights"]["file"]
    weights.write_bytes(weights.read_bytes()[:100])                      # truncated
    capsys.readouterr()
    assert not train(tiny(), data, FAST, name="w", store=Store(tmp_path)).cached
    assert "does not match the recorded sha256" in capsys.readouterr().out


def test_truncated_json_names_the_file_and_the_fix(data, tmp_path):
    train(tiny(), data, FAST, name="t", store=Store(tmp_path))
    path = tmp_path / "t.json"
    path.write_text(path.read_text()[:50])
    with pytest.raises(StoredRunError, match=r"t\.json is corrupt or truncated.*delete it"):
        train(tiny(), data, FAST, name="t", store=Store(tmp_path))
    assert not train(tiny(), data, FAST, name="t", store=Store(tmp_path), retrain=True).cached


@pytest.mark.parametrize("field, value, match", [
    ("test_accuracy", None, r"has no field 'test_accuracy'"),
    ("test_accuracy", "0.5", r"has test_accuracy='0.5', which must be a Real"),
    ("test_accuracy", 7, r"has test_accuracy=7, which must lie in \[0, 1\]"),
    ("history", {}, r"has history=\{\}, which must be a list"),
    ("key", [], r"has key=\[\], which must be a dict"),
])
def test_a_record_with_a_missing_or_wrong_field_names_the_file_the_field_and_the_fix(data, tmp_path, field, value,
                                                                                      match):
    train(tiny(), data, FAST, name="r", store=Store(tmp_path))
    path = tmp_path / "r.json"
    record = json.loads(path.read_text())
    if value is None:
        del record[field]
    else:
        record[field] = value
    path.write_text(json.dumps(record))
    with pytest.raises(StoredRunError, match=rf"the stored run .*r\.json {match}: delete it"):
        read_record(tmp_path, "r")


def test_an_older_record_is_stale_in_one_line_never_a_crash(data, tmp_path, capsys):
    """Students' local runs stored by an earlier course_utils (a 'config', no 'key')."""
    (tmp_path / "old.json").write_text(json.dumps({"name": "old", "test_accuracy": 0.5, "config": {"epochs": 1}}))
    result = train(tiny(), data, FAST, name="old", store=Store(tmp_path))
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("Retraining old")]
    assert len(line) == 1 and "older course_utils" in line[0] and "stale" in line[0]
    assert not result.cached and "key" in json.loads((tmp_path / "old.json").read_text())


def _save_many(folder: str, worker: int, count: int) -> None:
    torch.set_num_threads(1)
    for i in range(count):
        marker = float(1000 * worker + i)
        model = nn.Linear(64, 64)
        with torch.no_grad():
            model.weight.fill_(marker)
            model.bias.fill_(marker)
        result = TrainResult(name="shared", test_accuracy=marker / 1e5, history=[], params=0, macs=0,
                             wall_time_s=0.0, device="cpu", seed=worker, key={"marker": marker})
        save_run(result, model, folder)


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
    assert state["weight"].float().unique().tolist() == [pytest.approx(record["key"]["marker"], rel=1e-3)]
    assert record["key"]["marker"] == pytest.approx(record["test_accuracy"] * 1e5)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["shared.json", record["weights"]["file"]])


@pytest.mark.parametrize("failure", ["interrupt", "oserror", "file"])
def test_a_failed_save_still_returns_the_finished_run(data, tmp_path, monkeypatch, capsys, failure):
    folder = tmp_path / "store"
    if failure == "file":
        folder.write_text("not a folder")
    else:
        def broken_replace(src, dst):
            raise KeyboardInterrupt if failure == "interrupt" else PermissionError("read-only file system")
        monkeypatch.setattr(runs.os, "replace", broken_replace)
    result = train(tiny(), data, FAST, name="kept", store=Store(folder))
    assert isinstance(result, TrainResult) and not result.partial and len(result.history) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Warning")]
    assert len(lines) == 1 and "could not be stored" in lines[0]
    if failure != "file":
        assert list(folder.iterdir()) == []                                # no temporary file left behind


def test_a_record_without_weights_serves_only_callers_that_do_not_keep_them(data, tmp_path, capsys):
    train(tiny(), data, FAST, name="light", store=Store(tmp_path, weights=False))
    assert json.loads((tmp_path / "light.json").read_text())["weights"] is None
    assert train(tiny(), data, FAST, name="light", store=Store(tmp_path, weights=False)).cached
    capsys.readouterr()
    assert not train(tiny(), data, FAST, name="light", store=Store(tmp_path)).cached
    assert "stored without weights, and this call keeps them" in capsys.readouterr().out


def test_load_reads_and_never_trains(data, tmp_path, monkeypatch):
    """runs.load: the stored run, or MissingRunError naming the command; train() is never called."""
    monkeypatch.setattr(train_module, "_train_and_measure", lambda *a, **k: pytest.fail("load trained"))
    key, _ = run_key(tiny(), data.digest, FAST, name="kept")
    with pytest.raises(MissingRunError, match="the run kept is not stored in .*: make it with `make this`"):
        runs.load("kept", tiny(), key, command="make this", folder=tmp_path)
    monkeypatch.undo()
    trained = train(tiny(), data, FAST, name="kept", store=Store(tmp_path))
    model = tiny()
    loaded = runs.load("kept", model, key, command="make this", folder=tmp_path)
    assert loaded.cached and loaded.test_accuracy == trained.test_accuracy
    other, _ = run_key(tiny(), data.digest, fast(lr=0.1), name="kept")
    with pytest.raises(MissingRunError, match=r"is not this run: recipe lr \(0.15 → 0.1\) changed. Remake it with "
                                              r"`make this`"):
        runs.load("kept", tiny(), other, command="make this", folder=tmp_path)


# ---------------------------------------------------------------------------------------------
# Local and committed stores
# ---------------------------------------------------------------------------------------------
def test_a_live_retrain_goes_to_the_local_store_and_leaves_committed_results_alone(data, stores, monkeypatch, capsys):
    local, committed = stores
    monkeypatch.setenv("COURSE_RESULTS", "committed")
    committed_run = train(tiny(), data, FAST, name="demo")
    assert (committed / "demo.json").exists() and not local.exists()
    before = {p.name: p.read_bytes() for p in committed.iterdir()}
    monkeypatch.delenv("COURSE_RESULTS")
    capsys.readouterr()
    cached = train(tiny(), data, FAST, name="demo")
    assert cached.cached and "the committed results" in capsys.readouterr().out

    live = train(tiny(), data, fast(seed=1), name="demo", retrain=True)
    out = capsys.readouterr().out
    assert "local-results" in out and "data/results/ is unchanged" in out
    assert {p.name: p.read_bytes() for p in committed.iterdir()} == before
    assert (local / "demo.json").exists()
    again = train(tiny(), data, fast(seed=1), name="demo")   # not in the committed store: the local run
    assert again.cached and again.test_accuracy == live.test_accuracy
    assert "your local store" in capsys.readouterr().out
    assert train(tiny(), data, FAST, name="demo").test_accuracy == committed_run.test_accuracy


def test_a_live_retrain_of_the_committed_run_does_not_hide_it(data, stores, monkeypatch, capsys):
    local, committed = stores
    monkeypatch.setenv("COURSE_RESULTS", "committed")
    train(tiny(), data, FAST, name="demo")
    monkeypatch.delenv("COURSE_RESULTS")
    train(tiny(), data, FAST, name="demo", retrain=True)             # same configuration, trained live
    assert (local / "demo.json").exists()
    capsys.readouterr()
    reopened = train(tiny(), data, FAST, name="demo")                # the next open of the notebook
    assert reopened.cached and "the committed results" in capsys.readouterr().out


def test_course_results_refuses_unknown_values(data, stores, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS", "yes")
    with pytest.raises(ValueError, match="COURSE_RESULTS='yes'"):
        train(tiny(), data, FAST, name="x")


@pytest.mark.parametrize("raw, expected", [("", False), ("0", False), ("no", False), ("FALSE", False),
                                           ("1", True), ("Yes", True), ("true", True), (" TRUE ", True)])
def test_course_retrain_parsing(monkeypatch, raw, expected):
    monkeypatch.setenv("COURSE_RETRAIN", raw)
    assert retrain_requested() is expected


@pytest.mark.parametrize("raw", ["2", "y", "nope", "enabled"])
def test_course_retrain_refuses_anything_else(monkeypatch, raw):
    monkeypatch.setenv("COURSE_RETRAIN", raw)
    with pytest.raises(ValueError, match=f"COURSE_RETRAIN={raw!r} must be"):
        retrain_requested()


def test_course_retrain_false_does_not_retrain(data, tmp_path, monkeypatch):
    train(tiny(), data, FAST, name="env", store=Store(tmp_path))
    monkeypatch.setenv("COURSE_RETRAIN", "false")
    assert train(tiny(), data, FAST, name="env", store=Store(tmp_path)).cached


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
        train(NaNNet(), data, FAST, name="nan", store=Store(tmp_path))
    assert not (tmp_path / "nan.json").exists()


@pytest.mark.parametrize("changes, match", [
    ({"lr": float("inf")}, "lr=inf"), ({"lr": float("nan")}, "lr=nan"), ({"lr": 0}, "lr=0"),
    ({"weight_decay": float("nan")}, "weight_decay=nan"), ({"weight_decay": -1e-3}, "weight_decay=-0.001"),
    ({"epochs": None, "budget_s": float("inf")}, "budget_s=inf"), ({"epochs": None, "budget_s": -1}, "budget_s=-1"),
    ({"epochs": 2.5}, "epochs=2.5"), ({"seed": 2**64}, r"seed=18446744073709551616 must be below 2\*\*64"),
    ({"tta": "no"}, "tta='no'"), ({"reset": "no"}, "reset='no'"), ({"progress": None}, "progress=None"),
])
def test_the_recipe_refuses_bad_numbers_and_non_boolean_flags(changes, match):
    with pytest.raises(ValueError, match=match):
        fast(**changes)


@pytest.mark.parametrize("kwargs, match", [({"retrain": "no"}, "retrain='no'"), ({"live_plot": 1}, "live_plot=1"),
                                           ({"config": {"epochs": 1}}, "config=.* must be a TrainConfig"),
                                           ({"store": "somewhere"}, "store='somewhere' must be a"),
                                           ({"name": "a/b"}, "name='a/b'")])
def test_train_refuses_bad_arguments(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train(tiny(), data, **{"config": FAST, **kwargs})


def test_evaluate_refuses_a_non_boolean_tta(data):
    with pytest.raises(ValueError, match="tta='no'"):
        evaluate(tiny(), data.test_images, data.test_labels, tta="no")


def test_a_budget_too_small_for_one_step_is_refused(data, monkeypatch):
    ticks = iter(range(10**6))
    monkeypatch.setattr(train_module, "_clock", lambda: 0.5 * next(ticks))     # each reading: +0.5 s
    with pytest.raises(ValueError, match="budget_s=0.6 is too small for one training step"):
        train(tiny(), data, fast(epochs=None, budget_s=0.6))


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
    first = train(reused, data, FAST)
    second = train(reused, data, FAST)
    fresh = OwnInitBN()
    third = train(fresh, data, FAST)
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
    result = train(model, data, FAST)
    assert result.key["recipe"]["curve_test_images"] == 16
    curve = result.history[-1]["curve_test_accuracy"]
    assert (16 * curve).is_integer()                                   # measured on 16 images
    assert abs(curve - evaluate(model, data.test_images[:16], data.test_labels[:16])[1]) <= 1 / 16
    assert result.test_accuracy == evaluate(model, data.test_images, data.test_labels, tta=True)[1]


def test_live_plot_outside_a_notebook_shows_nothing_and_does_not_fail(data, capsys):
    result = train(tiny(), data, FAST, live_plot=True)
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
    train(tiny(), data, fast(epochs=3), live_plot=True)
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


def test_stored_files_get_the_usual_permissions_not_mkstemp_private_ones(tmp_path):
    save_run(TrainResult(name="perm", test_accuracy=0.5, history=[], params=1, macs=1, wall_time_s=0.0,
                         device="cpu", seed=0, key={}), nn.Linear(2, 2), tmp_path)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    mask = os.umask(0)
    os.umask(mask)
    expected = 0o666 & ~mask
    assert modes and all(mode == expected for mode in modes.values()), modes
