"""The SAL controls of notebook 06 (course_utils.models.sal_controls): frozen attention, shared attention,
low initial temperature; their names, hooks, training rows and loader, and the script that makes them."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import torch

import course_utils.models.sal_controls as sal_controls
import course_utils.train as train_module
from course_utils.data import load_cifar10
from course_utils.models.operator_lab import lab_model
from course_utils.models.sal import harden, sal_layers, temperature_step_hook, to_shift_model
from course_utils.models.sal_control_parts import FrozenAttentionConv2d, temperature_schedule_hook
from course_utils.models.sal_controls import (CONTROLS, attention_curve, attention_summary, control_model,
                                              control_run_name, control_step_hook, load_control_runs,
                                              train_control)
from course_utils.runs import json_path
from course_utils.sweeps import MissingRunError
from course_utils.train import reset_parameters

pytestmark = pytest.mark.precision     # make test runs these under both precision paths

TINY_EPOCHS = 1


@pytest.fixture(scope="module")
def tiny():
    """256 train / 100 test images: two SGD steps of batch 128 per epoch."""
    return load_cifar10().subset(train=256, test=100)


@pytest.fixture(scope="module")
def stored(tiny, tmp_path_factory):
    """The frozen and the T₀ = 1 control trained for one epoch on the tiny data into a temporary store."""
    folder = tmp_path_factory.mktemp("controls")
    rows = {control: train_control(control, tiny, seed=0, epochs=TINY_EPOCHS, cache_dir=folder, progress=False)
            for control in ("sal_frozen", "sal_t1")}
    return folder, rows


def test_four_controls_with_labels_and_run_names():
    assert list(CONTROLS) == ["sal_frozen", "sal_shared", "sal_t1", "sal_t5"]
    assert len({c.label for c in CONTROLS.values()}) == 4
    assert control_run_name("sal_frozen") == "nb06_sal_frozen"
    assert control_run_name("sal_shared", seed=2) == "nb06_sal_shared_seed2"
    assert control_run_name("sal_t1", seed=1) == "nb06_sal_t1_seed1"


def test_controls_are_the_lab_sal_network_with_its_layers_replaced():
    reference = lab_model("sal", 0.5)
    reset_parameters(reference, 0)
    for control in CONTROLS:
        model = control_model(control)
        reset_parameters(model, 0)
        layers = sal_layers(model)
        assert len(layers) == len(sal_layers(reference)) and model.width == 0.5
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
        if control != "sal_shared":      # same shapes, same random draws: the lab SAL run's initial taps
            assert all(torch.equal(a.attention, b.attention) and torch.equal(a.weight, b.weight)
                       for a, b in zip(layers, sal_layers(reference)))
    assert all(isinstance(m, FrozenAttentionConv2d) for m in sal_layers(control_model("sal_frozen")))
    assert not any(isinstance(m, FrozenAttentionConv2d) for m in sal_layers(control_model("sal_t1")))


def test_frozen_logits_do_not_change_in_a_training_step_while_weights_do():
    torch.manual_seed(0)
    layer = FrozenAttentionConv2d(4, 6, 3)
    logits, weight = layer.attention.detach().clone(), layer.weight.detach().clone()
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5, momentum=0.9, nesterov=True, weight_decay=1e-2)
    for _ in range(2):
        optimizer.zero_grad()
        layer(torch.randn(2, 4, 5, 5)).square().mean().backward()
        optimizer.step()
    assert torch.equal(layer.attention, logits)
    assert not torch.allclose(layer.weight, weight)
    layer.reset_parameters()                         # a fresh draw keeps it frozen
    assert not layer.attention.requires_grad and layer.weight.requires_grad


def test_frozen_run_keeps_its_initial_taps_and_trains_its_weights(stored):
    _, rows = stored
    row = rows["sal_frozen"]
    start = control_model("sal_frozen")
    reset_parameters(start, 0)
    for trained, initial in zip(sal_layers(row["model"]), sal_layers(start)):
        assert torch.equal(trained.attention, initial.attention)
        assert not torch.allclose(trained.weight, initial.weight, atol=1e-3)
    assert all(r["taps_changed"] == 0 for r in row["history"])
    assert row["accuracy"] == row["history"][-1]["hardened_test_accuracy"]
    assert 0 <= row["accuracy"] <= 1 and not row["cached"]


def test_shared_control_has_one_tap_per_input_channel():
    model = control_model("sal_shared")
    for layer in sal_layers(model):
        assert layer.shared and layer.attention.shape == (1, layer.in_channels, 9)
        assert layer.chosen_taps().shape == (1, layer.in_channels)
    model = harden(model).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
        assert torch.allclose(to_shift_model(model)(x), expected, atol=1e-4)     # a shift, then one 1×1


@pytest.mark.parametrize("control, start", [("sal_t1", 1.0), ("sal_t5", 5.0)])
def test_low_temperature_schedules_start_at_t0_and_end_at_70(control, start):
    model = control_model(control)
    reset_parameters(model, 0)
    assert all(float(layer.temperature) == start for layer in sal_layers(model))
    hook = control_step_hook(control)
    seen = []
    for step in range(50):
        hook(model, step, 50)
        seen.append(float(sal_layers(model)[0].temperature))
    assert seen[0] == pytest.approx(start) and seen[-1] == pytest.approx(70.0)
    assert all(a < b for a, b in zip(seen, seen[1:]))


def test_frozen_and_shared_keep_the_authors_schedule():
    assert control_step_hook("sal_frozen") is temperature_step_hook
    assert control_step_hook("sal_shared") is temperature_step_hook
    assert control_step_hook("sal_t1").keywords == {"start": 1.0, "end": 70.0}
    model = control_model("sal_t1")
    temperature_schedule_hook(model, 0, 10, start=3.0)
    assert float(sal_layers(model)[0].temperature) == 3.0


def test_history_starts_at_initialisation(stored):
    _, rows = stored
    history = rows["sal_t1"]["history"]
    summary = attention_summary(history)
    assert summary["one_hot_at_init"] == 0.0             # at T₀ = 1 no slice is one-hot
    assert sum(summary["tap_counts_at_init"]) == sum(summary["tap_counts_at_end"])
    curve = attention_curve(history)
    assert list(curve["epoch"]) == list(range(TINY_EPOCHS + 1))
    assert curve["taps_changed"].iloc[0] == 0.0


@pytest.fixture
def stores(monkeypatch, stored, tmp_path):
    """The loader reads the temporary store only (and could write nowhere else)."""
    folder, _ = stored
    for module in (sal_controls, train_module):
        monkeypatch.setattr(module, "read_stores", lambda: [folder])
    monkeypatch.setattr(train_module, "write_store", lambda: tmp_path)
    return folder


def test_loader_reads_stored_runs_even_with_course_retrain(tiny, stores, monkeypatch):
    monkeypatch.setenv("COURSE_RETRAIN", "1")
    runs = load_control_runs(tiny, seeds=(0,), controls=["sal_frozen", "sal_t1"], epochs=TINY_EPOCHS)
    assert list(runs["name"]) == ["nb06_sal_frozen", "nb06_sal_t1"]
    assert {"control", "label", "seed", "accuracy", "one_hot_at_init", "one_hot_at_end", "taps_changed",
            "history", "model"} <= set(runs.columns)
    assert runs["taps_changed"].iloc[0] == 0.0 and runs["one_hot_at_init"].iloc[1] == 0.0


def test_loader_names_the_make_target_for_missing_and_stale_runs(tiny, stores, monkeypatch, tmp_path):
    with pytest.raises(MissingRunError, match="nb06_sal_shared is not stored.*make sal-controls"):
        load_control_runs(tiny, seeds=(0,), controls=["sal_shared"], epochs=TINY_EPOCHS)
    with pytest.raises(MissingRunError, match="epochs changed.*make sal-controls"):       # another recipe
        load_control_runs(tiny, seeds=(0,), controls=["sal_t1"], epochs=TINY_EPOCHS + 1)
    # the same run stored by other code (here: an edited temperature hook)
    stale = tmp_path / "stale"
    stale.mkdir()
    record = json.loads(json_path(stores, "nb06_sal_t1").read_text())
    shutil.copy(stores / record["weights"]["file"], stale)
    hook = next(key for key in record["config"]["code"] if key.startswith("step_hook"))
    record["config"]["code"][hook] = "0" * 16
    json_path(stale, "nb06_sal_t1").write_text(json.dumps(record))
    for module in (sal_controls, train_module):
        monkeypatch.setattr(module, "read_stores", lambda: [stale])
    with pytest.raises(MissingRunError, match="code of step_hook temperature_schedule_hook.*make sal-controls"):
        load_control_runs(tiny, seeds=(0,), controls=["sal_t1"], epochs=TINY_EPOCHS)


@pytest.mark.parametrize("call, match", [
    (lambda: control_run_name("nope"), "control='nope' must be one of"),
    (lambda: control_run_name("sal_t1", seed=-1), "seed=-1 must be a non-negative integer"),
    (lambda: control_model("sal"), "control='sal' must be one of"),
    (lambda: control_step_hook("shift"), "control='shift' must be one of"),
    (lambda: train_control("sal_t1", None, seed=0, epochs=0), "epochs=0 must be a positive integer"),
    (lambda: train_control("sal_t1", None, seed=True), "seed=True must be a non-negative integer"),
    (lambda: load_control_runs(None, controls=["nope"]), "control='nope' must be one of"),
    (lambda: load_control_runs(None, seeds=[-1]), "seed=-1 must be a non-negative integer"),
    (lambda: attention_summary([]), "history must be a SAL run's per-epoch records"),
    (lambda: attention_summary([{"epoch": 1}]), "history must be a SAL run's per-epoch records"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _script():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "train_sal_controls.py"
    spec = importlib.util.spec_from_file_location("train_sal_controls", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("argv, match", [
    (["--controls", "sal"], r"--controls \['sal'\] must be among"),
    (["--epochs", "0"], "--epochs=0 must be a positive integer"),
    (["--jobs", "0"], "--jobs=0 must be a positive integer"),
    (["--seeds", "-1"], "must be non-negative integers"),
    (["--train-images", "512"], "--train-images=512 needs --results-dir"),
    (["--test-images", "0", "--results-dir", "x"], "--test-images=0 must be a positive integer"),
])
def test_script_refuses_bad_arguments(argv, match):
    with pytest.raises(ValueError, match=match):
        _script().main(argv)


def test_script_trains_seed_by_seed(tmp_path):
    module = _script()
    args = module.argparse.Namespace(controls=list(CONTROLS), seeds=[0, 1], epochs=1, retrain=False, device="cpu",
                                     train_images=None, test_images=None, raw=[])
    jobs = module.jobs_for(args, tmp_path)
    assert [(j["control"], j["seed"]) for j in jobs][:5] == [
        ("sal_frozen", 0), ("sal_shared", 0), ("sal_t1", 0), ("sal_t5", 0), ("sal_frozen", 1)]
