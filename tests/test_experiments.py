"""course_utils.experiments: the lab table, SAL's hooks and controls, the catalog of committed runs, the one
loader (which never trains) and the script that makes the runs; and what adding an operator takes."""
from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from course_utils import runs
from course_utils.operators import OPERATORS
from course_utils import training as train_module
from course_utils.cost import Cost, conv2d_cost, count
from course_utils.data import KNOWN_DIGESTS, load_cifar10
from course_utils.experiments import catalog, lab, store
from course_utils.experiments.catalog import (FAMILIES, REFERENCE_MACS_OF, REFERENCE_WIDTHS, family_specs, sal_hooks,
                                              spec)
from course_utils.experiments.lab import (LAB, MATCHED_WIDTH_GRID, LabOperator, deployed_macs, lab_model,
                                          matched_width, run_name)
from course_utils.experiments.sal import (AttentionRecorder, geometric_temperature, temperature_schedule_hook,
                                          temperature_step_hook)
from course_utils.experiments.sal_controls import (CONTROLS, attention_curve, attention_summary, control,
                                                   control_model)
from course_utils.layers import FrozenAttentionConv2d, RandomTapsConv2d
from course_utils.layers.shift_attention import sal_memory_words
from course_utils.models import BaselineCNN
from course_utils.models.sal import deployed_cost, harden, memory_bytes, sal_layers, to_shift_model
from course_utils.operators import OPERATORS, LayerShape, Operator, single_layer_operators
from course_utils.runs import MissingRunError, Store
from course_utils.training import TrainConfig, reset_parameters, run_key

pytestmark = pytest.mark.precision     # make test runs these under both precision paths

REPO = Path(__file__).resolve().parents[1]
TINY = TrainConfig(epochs=1, progress=False, device="cpu")


@pytest.fixture(scope="module")
def tiny():
    """256 train / 100 test images: two SGD steps of batch 128 per epoch."""
    return load_cifar10().subset(train=256, test=100)


# ---------------------------------------------------------------------------------------------
# The lab and its costs
# ---------------------------------------------------------------------------------------------
def test_eight_operators_with_three_widths_each_and_they_run():
    # every block of the registry but the two that are not networks' blocks on their own (a grouped 3×3 and a
    # bare depthwise 3×3 mix no channels across groups)
    assert set(LAB) == set(OPERATORS) - {"grouped", "depthwise"}
    for name, entry in LAB.items():
        assert len(entry.widths) >= 3 and entry.width in entry.widths
        assert lab_model(name, width=0.25)(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert run_name("fire") == "nb07_fire" and run_name("fire", width=2.0, seed=1) == "nb07_fire_w2.0_seed1"


def test_deployed_cost_is_count_except_for_sal():
    for name in ("standard", "fire", "shift"):
        model = lab_model(name, width=0.5)
        assert deployed_cost(model) == count(model, (1, 3, 32, 32))
    # Hardened SAL = shift + 1×1 at the same width: same weights and MACs (the paper's accounting).
    assert deployed_cost(lab_model("sal", width=0.5)) == deployed_cost(lab_model("shift", width=0.5))
    assert count(lab_model("sal", width=0.5), (1, 3, 32, 32)).macs == count(lab_model("standard", width=0.5),
                                                                            (1, 3, 32, 32)).macs


def test_sal_memory_adds_the_tap_indices():
    sal, shift = lab_model("sal", width=0.5), lab_model("shift", width=0.5)
    extra = memory_bytes(sal) - memory_bytes(shift)
    pairs = sum(m.in_channels * m.out_channels for m in sal.modules() if hasattr(m, "attention"))
    assert extra == pytest.approx(4 * pairs * 4 / 32)           # 4 bits per (output, input) pair
    assert memory_bytes(shift) == 4 * sum(p.numel() for p in shift.parameters())
    assert sal_memory_words(8, 8) == 8 * 8 * 36 / 32


def test_hardened_sal_model_matches_its_shift_form():
    model = harden(lab_model("sal", width=0.25)).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
        assert torch.allclose(to_shift_model(model)(x), expected, atol=1e-4)


def test_single_layer_operators_keep_the_shape():
    for name, layer in single_layer_operators(16).items():
        assert layer.eval()(torch.randn(2, 16, 8, 8)).shape == (2, 16, 8, 8), name


# ---------------------------------------------------------------------------------------------
# SAL: the schedule, the recorder, the controls
# ---------------------------------------------------------------------------------------------
def test_the_controls_are_the_lab_sal_network_with_its_layers_replaced():
    reference = lab_model("sal", 0.5)
    reset_parameters(reference, 0)
    for name in CONTROLS:
        model = control_model(name)
        reset_parameters(model, 0)
        layers = sal_layers(model)
        assert len(layers) == len(sal_layers(reference)) and model.width == 0.5
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
        if name != "sal_shared":      # same shapes, same random draws: the lab SAL run's initial taps
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


def test_random_taps_are_one_hot_from_the_first_step_and_stay_so():
    torch.manual_seed(0)
    layer = RandomTapsConv2d(4, 6, 3)
    taps = layer.chosen_taps().clone()
    assert bool(layer.hardened) and layer.one_hot_fraction() == 1.0 and not layer.attention.requires_grad
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5)
    layer(torch.randn(2, 4, 5, 5)).square().mean().backward()
    optimizer.step()
    assert torch.equal(layer.chosen_taps(), taps) and layer.one_hot_fraction() == 1.0
    layer.reset_parameters()                         # training re-initialises: still hardened
    assert bool(layer.hardened) and len(torch.unique(layer.chosen_taps())) > 1     # random taps, not one
    model = control_model("sal_random_taps")
    reset_parameters(model, 0)
    assert all(isinstance(m, RandomTapsConv2d) and bool(m.hardened) for m in sal_layers(model))


def test_shared_control_has_one_tap_per_input_channel():
    model = control_model("sal_shared")
    for layer in sal_layers(model):
        assert layer.shared and layer.attention.shape == (1, layer.in_channels, 9)
        assert layer.chosen_taps().shape == (1, layer.in_channels)
    model = harden(model).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(to_shift_model(model)(x), model(x), atol=1e-4)     # a shift, then one 1×1


@pytest.mark.parametrize("name, start", [("sal_t1", 1.0), ("sal_t5", 5.0)])
def test_low_temperature_schedules_start_at_t0_and_end_at_70(name, start):
    model = control_model(name)
    reset_parameters(model, 0)
    assert all(float(layer.temperature) == start for layer in sal_layers(model))
    hook = spec(f"nb06_{name}").hooks().step
    assert hook.keywords == {"start": start, "end": 70.0}
    seen = []
    for step in range(50):
        hook(model, step, 50)
        seen.append(float(sal_layers(model)[0].temperature))
    assert seen[0] == pytest.approx(start) and seen[-1] == pytest.approx(70.0)
    assert all(a < b for a, b in zip(seen, seen[1:]))


def test_frozen_and_shared_keep_the_authors_schedule():
    assert spec("nb06_sal_frozen").hooks().step is temperature_step_hook
    assert spec("nb06_sal_shared_seed2").hooks().step is temperature_step_hook
    assert geometric_temperature(0, 10) == 20.0 and geometric_temperature(9, 10) == pytest.approx(70.0)
    model = control_model("sal_t1")
    temperature_schedule_hook(model, 0, 10, start=3.0)
    assert float(sal_layers(model)[0].temperature) == 3.0


def test_a_sal_run_records_its_attention_from_initialisation_and_its_hardened_accuracy(tiny, tmp_path):
    model = control_model("sal_frozen")
    result = train_module.train(model, tiny, TINY, name="frozen", store=Store(tmp_path), hooks=sal_hooks(0))
    start = control_model("sal_frozen")
    reset_parameters(start, 0)
    for trained, initial in zip(sal_layers(model), sal_layers(start)):
        assert torch.equal(trained.attention, initial.attention)       # frozen: the taps drawn at initialisation
    assert all(row["taps_changed"] == 0 for row in result.history)
    summary = attention_summary(result.history)
    assert 0 < summary["one_hot_at_init"] <= 1 and sum(summary["tap_counts_at_init"]) == sum(summary["tap_counts_at_end"])
    curve = attention_curve(result.history)
    assert list(curve["epoch"]) == [0, 1] and curve["taps_changed"].iloc[0] == 0.0
    assert 0 <= result.measures["hardened_test_accuracy"] <= 1


@pytest.mark.parametrize("call, match", [
    (lambda: lab_model("nope"), "variant='nope' must be one of"),
    (lambda: lab_model("shift", width=0), "width=0 must be a positive number"),
    (lambda: run_name("sal", seed=-1), "seed=-1 must be a non-negative integer"),
    (lambda: single_layer_operators(4), "channels=4 must be a multiple of 8 and at least 8"),
    (lambda: control("sal"), "control='sal' must be one of"),
    (lambda: control_model("shift"), "control='shift' must be one of"),
    (lambda: attention_summary([]), "history must be a SAL run's per-epoch records"),
    (lambda: attention_summary([{"epoch": 1}]), "history must be a SAL run's per-epoch records"),
    (lambda: AttentionRecorder(-1), "seed=-1 must be a non-negative integer"),
    (lambda: family_specs("nope"), "family='nope' must be one of"),
    (lambda: spec("nb07_nope"), "name='nb07_nope' is not a committed run"),
    (lambda: LabOperator("grouped", (1.0,), 1.0), "name='grouped' must be an operator of the registry with a block"),
    (lambda: LabOperator("shift", (1.0, 2.0), 0.5), r"width=0.5 must be one of widths=\(1.0, 2.0\)"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------------------------
# The catalog
# ---------------------------------------------------------------------------------------------
def test_every_committed_run_is_in_the_catalog_once_with_a_command():
    specs = [s for family in FAMILIES for s in family_specs(family)]
    names = [s.name for s in specs]
    assert len(names) == len(set(names))
    committed_names = set(names)
    assert len(family_specs("lab")) == 3 * 3 * len(LAB) and len(family_specs("sal_controls")) == 3 * len(CONTROLS)
    assert len(family_specs("squeezenet")) == 3 and len(family_specs("decomposition")) == 4
    assert len(family_specs("reference")) == len(LAB) + 4
    for s in specs:
        assert s.command.startswith("make ") and s.data in KNOWN_DIGESTS
        assert s.config.precision == "fp32" and s.config.total_epochs is not None
    committed = {p.stem for p in (REPO / "data" / "results").glob("*.json")}
    assert committed == committed_names, "data/results/ holds exactly the runs of the catalog"


def test_the_reference_runs_are_at_matched_macs():
    """Each operator's full-data run is at the width of the grid nearest in MACs to the standard net at 0.5: MACs
    grow with the width, so that width is nearer than its two neighbours on the grid (lab.matched_width searches
    the whole grid); every one within 10 % of the target."""
    target = deployed_macs(*REFERENCE_MACS_OF)
    assert target == 2_286_208
    for variant in LAB:
        width = REFERENCE_WIDTHS[variant]
        assert width in MATCHED_WIDTH_GRID
        step = MATCHED_WIDTH_GRID.index(width)
        neighbours = MATCHED_WIDTH_GRID[max(step - 1, 0):step + 2]
        assert matched_width(variant, target, neighbours) == width, variant
        assert abs(deployed_macs(variant, width) / target - 1) < 0.1, variant
    assert {s.columns["width"] for s in family_specs("reference") if s.columns["variant"] == "sal"} == {1.35}


def test_a_fine_tune_waits_for_its_start():
    fine_tune = spec("nb02_finetune_seed1")
    assert fine_tune.after == ("baseline_standard",) and not fine_tune.config.reset
    assert fine_tune.config.lr == pytest.approx(0.015) and fine_tune.config.total_epochs == 5


# ---------------------------------------------------------------------------------------------
# The loader: reads, never trains
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def made(tiny, tmp_path):
    """Two control runs trained for one epoch on the tiny data, stored in a temporary folder under the key
    the loader expects for them (the catalog's recipe, shortened to one epoch, the tiny data's digest)."""
    specs = [dataclasses.replace(s, config=dataclasses.replace(s.config, epochs=1), data="tiny")
             for s in family_specs("sal_controls", controls=["sal_frozen", "sal_t1"], seeds=(0,))]
    for s in specs:
        store.make_run(s, tiny, folder=tmp_path)
    return specs, tmp_path


@pytest.fixture
def with_tiny_data(monkeypatch, tiny):
    monkeypatch.setitem(KNOWN_DIGESTS, "tiny", tiny.digest)


def test_the_loader_reads_stored_runs_and_never_trains_even_with_course_retrain(made, with_tiny_data, monkeypatch):
    specs, folder = made
    monkeypatch.setenv("COURSE_RETRAIN", "1")
    monkeypatch.setattr(train_module, "_train_and_measure", lambda *a, **k: pytest.fail("the loader trained"))
    monkeypatch.setattr(store, "family_specs", lambda family, **selection: specs)
    table = store.load_runs("sal_controls", folder=folder)
    assert list(table["name"]) == ["nb06_sal_frozen", "nb06_sal_t1"]
    assert {"control", "label", "seed", "accuracy", "soft_accuracy", "one_hot_at_init", "taps_changed", "history",
            "model", "date", "commit"} <= set(table.columns)
    assert table["taps_changed"].iloc[0] == 0.0 and table["one_hot_at_init"].iloc[1] == 0.0
    assert all(0 <= a <= 1 for a in table["accuracy"])


def test_the_loader_names_the_command_for_missing_and_stale_runs(made, with_tiny_data, monkeypatch, tmp_path):
    specs, folder = made
    missing = dataclasses.replace(specs[0], name="nb06_sal_shared")
    with pytest.raises(MissingRunError, match="the run nb06_sal_shared is not stored .*make it with `make sal-controls`"):
        store._load(missing, folder)
    longer = dataclasses.replace(specs[1], config=dataclasses.replace(specs[1].config, epochs=2))
    with pytest.raises(MissingRunError, match=r"recipe epochs \(1 → 2\) changed. Remake it with `make sal-controls`"):
        store._load(longer, folder)
    other_hook = dataclasses.replace(specs[1], hooks=functools.partial(sal_hooks, 0, functools.partial(
        temperature_schedule_hook, start=2.0)))
    with pytest.raises(MissingRunError, match=r"the step_hook changed.*make sal-controls"):
        store._load(other_hook, folder)


def test_a_run_stored_without_weights_gives_no_model_to_measure(monkeypatch):
    with pytest.raises(ValueError, match="name='nb07_standard' is stored without weights"):
        store.load_model("nb07_standard")


# ---------------------------------------------------------------------------------------------
# Adding an operator: its layer file, its cost function, one registry entry, one lab entry
# ---------------------------------------------------------------------------------------------
class DoubleConv(nn.Module):
    """A dummy operator: a 3×3 conv applied to 2x (a layer file's class)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(2 * x)


def double_cost(s: LayerShape) -> Cost:
    """Its cost function: a 3×3 conv's."""
    return conv2d_cost(3, 3, s.c_in, s.c_out, h_out=s.h, w_out=s.w)


def double_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Module:
    return nn.Sequential(DoubleConv(in_channels, out_channels), nn.BatchNorm2d(out_channels), nn.ReLU(),
                         *([nn.MaxPool2d(stride)] if stride > 1 else []))


def test_adding_an_operator_takes_four_places_and_stales_no_committed_run(monkeypatch, tiny):
    from course_utils.widgets import CostExplorer

    committed = [spec(name) for name in ("nb07_standard", "nb07_sal_w0.5", "nb06_sal_t1", "nb03_squeezenet_cifar")]
    before = [run_key(s.build(), s.data_digest, s.config, s.hooks(), name=s.name, device="cpu")[0] for s in committed]
    monkeypatch.setitem(OPERATORS, "double", Operator("double", "double conv", "k·l·C_in·C_out", double_cost,
                                                      OPERATORS["standard"].activations,
                                                      lambda c: DoubleConv(c, c), double_block))
    monkeypatch.setitem(LAB, "double", LabOperator("double", (0.25, 0.5, 1.0), 0.5))
    explorer = CostExplorer(operators=["standard", "double"])                 # the cost explorer
    assert explorer.costs()["double"] == explorer.costs()["standard"]
    model = BaselineCNN("double", 0.25)                                        # the baseline
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert [s.name for s in family_specs("lab", variants=["double"], seeds=(0,))] == [
        "nb07_double_w0.25", "nb07_double", "nb07_double_w1.0"]                # the lab
    assert lab_model("double").width == 0.5 and "double conv" in single_layer_operators(16)
    after = [run_key(s.build(), s.data_digest, s.config, s.hooks(), name=s.name, device="cpu")[0] for s in committed]
    assert after == before


# ---------------------------------------------------------------------------------------------
# The script that makes the runs
# ---------------------------------------------------------------------------------------------
def _script():
    path = REPO / "benchmarks" / "train_runs.py"
    module_spec = importlib.util.spec_from_file_location("train_runs", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("argv, match", [
    (["lab", "--variants", "nope"], "variant='nope' must be one of"),
    (["lab", "--jobs", "0"], "--jobs=0 must be a positive integer"),
    (["lab", "--seeds", "-1"], "must be non-negative integers"),
    (["sal_controls", "--widths", "0.5"], "--widths does not apply to the family sal_controls"),
    (["reference", "--seeds", "0"], "--seeds does not apply to the family reference"),
    (["lab", "--train-images", "512"], "--train-images=512 needs --results-dir"),
    (["reference"], "ref_standard_w0.5 trains on cifar10-jpeg.npz, which is not in data/: give its path with --data"),
    (["squeezenet", "--data", "data/cifar10-train5k-test10k-jpeg.npz", "--test-images", "0", "--results-dir", "x"],
     "--test-images=0 must be a positive integer"),
])
def test_the_script_refuses_bad_arguments(argv, match, monkeypatch):
    monkeypatch.delenv("COURSE_PRECISION", raising=False)
    with pytest.raises(ValueError, match=match):
        _script().main(argv)


def test_the_script_orders_a_fine_tune_after_its_start():
    groups = _script().stages(family_specs("decomposition"))
    assert [[s.name for s in group] for group in groups] == [
        ["baseline_standard"], ["nb02_finetune_seed0", "nb02_finetune_seed1", "nb02_finetune_seed2"]]


def test_the_script_trains_a_slice_into_its_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_PRECISION", raising=False)
    rows = _script().main(["lab", "--variants", "shift", "--widths", "0.5", "--seeds", "0", "--train-images", "256",
                           "--test-images", "100", "--results-dir", str(tmp_path)])
    assert [row["name"] for row in rows] == ["nb07_shift_w0.5"] and rows[0]["train_images"] == 256
    record = json.loads((tmp_path / "nb07_shift_w0.5.json").read_text())
    assert record["key"]["recipe"]["precision"] == "fp32" and record["weights"] is None
