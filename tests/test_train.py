"""course_utils.training and the course baseline: records, cache, interruption, hooks, validation,
and one slow test that retrains a committed run and compares it with its stored result.
(The runs store, its key and the failure modes of training are in test_runs.py.)"""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch import nn

from course_utils.data import CIFAR10Data, load_cifar10
from course_utils.models import baseline_cnn, block_names, register_block
from course_utils.models.baseline import REGISTERED_BLOCKS
from course_utils.models.squeezenet import squeezenet_cifar
from course_utils.layers.conv_bn import conv_bn_act
from course_utils.runs import COMMITTED_RESULTS_DIR, Store
from course_utils.training import DEFAULT_EPOCHS, Hooks, TrainConfig, TrainResult, one_cycle, reset_parameters, train

pytestmark = pytest.mark.precision     # make test runs these under both precision paths

TINY = TrainConfig(batch_size=64, progress=False)


def tiny_config(**changes) -> TrainConfig:
    return dataclasses.replace(TINY, **changes)


@pytest.fixture(scope="module")
def bundled() -> CIFAR10Data:
    return load_cifar10()


@pytest.fixture(scope="module")
def small(bundled) -> CIFAR10Data:
    """512 train / 200 test images: enough to exercise the engine in a second or two."""
    return bundled.subset(train=512, test=200)


def tiny_model() -> nn.Module:
    return baseline_cnn(width=0.25)


def test_record_has_curves_costs_key_and_provenance(small, tmp_path):
    result = train(tiny_model(), small, tiny_config(epochs=2, device="cpu"), name="tiny", store=Store(tmp_path))
    assert isinstance(result, TrainResult) and not result.partial and not result.cached
    assert [row["epoch"] for row in result.history] == [1, 2]
    for key in ("train_loss", "train_accuracy", "curve_test_loss", "curve_test_accuracy", "lr", "seconds"):
        assert all(key in row for row in result.history)
    assert 0 <= result.test_accuracy <= 1
    assert result.params == sum(p.numel() for p in tiny_model().parameters()) and result.macs > 0
    assert result.device == "cpu" and result.seed == 0 and result.wall_time_s > 0
    assert result.key["recipe"]["epochs"] == 2 and result.key["data"] == small.digest
    for key in ("command", "device", "date", "commit", "torch", "precision", "data_source", "data_identity"):
        assert result.provenance[key]
    stored = json.loads((tmp_path / "tiny.json").read_text())
    assert stored["test_accuracy"] == result.test_accuracy and (tmp_path / stored["weights"]["file"]).exists()


def test_cache_hit_returns_at_once_with_weights_loaded(small, tmp_path, capsys):
    first_model = tiny_model()
    first = train(first_model, small, tiny_config(epochs=1), name="cached", store=Store(tmp_path))
    capsys.readouterr()
    second_model = tiny_model()
    second = train(second_model, small, tiny_config(epochs=1), name="cached", store=Store(tmp_path))
    assert second.cached and second.to_dict() == first.to_dict()
    message = capsys.readouterr().out.strip().splitlines()
    assert len(message) == 1 and message[0].startswith("Cached result from") and "cached.json" in message[0]
    for (key, a), b in zip(first_model.state_dict().items(), second_model.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), rtol=1e-2, atol=1e-3), key   # fp16 storage


def test_a_changed_architecture_retrains_with_one_line(small, tmp_path, capsys):
    train(tiny_model(), small, tiny_config(epochs=1), name="run", store=Store(tmp_path))
    other = baseline_cnn(width=0.125)
    capsys.readouterr()
    result = train(other, small, tiny_config(epochs=1), name="run", store=Store(tmp_path))
    assert not result.cached and "Retraining run: architecture, module_state changed" in capsys.readouterr().out
    assert json.loads((tmp_path / "run.json").read_text())["params"] == result.params


def test_retrain_flag_and_environment_variable_train_live(small, tmp_path, monkeypatch):
    config = tiny_config(epochs=1)
    train(tiny_model(), small, config, name="env", store=Store(tmp_path))
    assert not train(tiny_model(), small, config, name="env", store=Store(tmp_path), retrain=True).cached
    monkeypatch.setenv("COURSE_RETRAIN", "1")
    assert not train(tiny_model(), small, config, name="env", store=Store(tmp_path)).cached


def test_keyboard_interrupt_returns_partial_record_not_cached(small, tmp_path, capsys):
    def interrupt(model, step, total_steps):
        if step == 10:
            raise KeyboardInterrupt

    result = train(tiny_model(), small, tiny_config(epochs=3), name="stopped", store=Store(tmp_path),
                   hooks=Hooks(step=interrupt))
    assert result.partial and len(result.history) == 1      # 8 steps per epoch: stopped in epoch 2
    assert 0 <= result.test_accuracy <= 1
    assert "partial result, not stored" in capsys.readouterr().out
    assert not (tmp_path / "stopped.json").exists()


def test_training_is_deterministic_on_cpu(small):
    a = train(tiny_model(), small, tiny_config(epochs=1, device="cpu"))
    b = train(tiny_model(), small, tiny_config(epochs=1, device="cpu"))
    assert [r["train_loss"] for r in a.history] == [r["train_loss"] for r in b.history]
    assert a.test_accuracy == b.test_accuracy


def test_hooks_see_every_step_add_metrics_and_measure_at_the_end(small):
    calls = []

    def final(model, data):
        assert not model.training and next(model.parameters()).device.type == "cpu"
        return {"test_images": float(len(data.test_labels))}

    result = train(tiny_model(), small, tiny_config(epochs=2),
                   hooks=Hooks(step=lambda m, s, t: calls.append((s, t)), epoch=lambda m, e: {"double_epoch": 2 * e},
                               final=final))
    assert calls == [(s, 16) for s in range(16)]
    assert [row["double_epoch"] for row in result.history] == [2, 4]
    assert result.measures == {"test_images": 200.0}


def test_budget_mode_stops_within_the_budget_on_a_fake_clock(small, monkeypatch):
    """Every reading of the training clock advances it by 0.05 s: deterministic, not wall time."""
    ticks = iter(range(10**6))
    monkeypatch.setattr("course_utils.training._clock", lambda: 0.05 * next(ticks))
    result = train(tiny_model(), small, tiny_config(budget_s=3.0))
    assert len(result.history) >= 1 and result.key["recipe"]["budget_s"] == 3.0
    assert result.wall_time_s <= 3.0
    assert result.history[-1]["seconds"] <= 3.0


def test_reset_keeps_a_models_own_initialisation():
    model = squeezenet_cifar()
    reset_parameters(model, seed=0)
    conv10 = model.classifier[1]
    assert conv10.weight.std().item() == pytest.approx(0.01, rel=0.2)      # N(0, 0.01²), not PyTorch's default
    first = model.features[0]
    bound = (6 / (first.in_channels * 9)) ** 0.5                             # Kaiming uniform bound, gain √2
    assert first.weight.abs().max().item() > 0.9 * bound


def test_one_cycle_schedule():
    assert one_cycle(0.0) == 0 and one_cycle(0.2) == pytest.approx(1) and one_cycle(1.0) == 0
    assert one_cycle(0.6) == pytest.approx(0.5)


@pytest.mark.parametrize("changes, match", [
    ({"epochs": 0}, "epochs=0"),
    ({"lr": -1.0}, "lr=-1.0"),
    ({"device": "tpu"}, "device='tpu'"),
    ({"epochs": 2, "budget_s": 5}, "exclusive"),
    ({"precision": "fp8"}, "precision='fp8'"),
    ({"label_smoothing": 2}, "label_smoothing=2"),
])
def test_the_recipe_validates_its_fields(changes, match):
    with pytest.raises(ValueError, match=match):
        tiny_config(**changes)


def test_train_refuses_wrong_types(small):
    with pytest.raises(ValueError, match="model=str"):
        train("resnet", small)
    with pytest.raises(ValueError, match="data=dict"):
        train(tiny_model(), {})
    with pytest.raises(ValueError, match="batch_size=10000 must not exceed the 512 training images"):
        train(tiny_model(), small, tiny_config(batch_size=10_000))


def test_the_default_recipe_is_the_course_recipe():
    config = TrainConfig()
    assert config.total_epochs == DEFAULT_EPOCHS and config.budget_s is None and config.seed == 0
    assert TrainConfig(budget_s=60).total_epochs is None


def test_registering_a_block_is_one_line():
    register_block("test_wide", lambda c_in, c_out, stride: conv_bn_act(c_in, c_out, 3, stride))
    try:
        assert "test_wide" in block_names()
        assert baseline_cnn("test_wide", width=0.25)(torch.zeros(1, 3, 32, 32)).shape == (1, 10)
    finally:
        del REGISTERED_BLOCKS["test_wide"]
    with pytest.raises(ValueError, match="builder=3"):
        register_block("x", 3)


@pytest.mark.parametrize("block", block_names())
def test_every_block_builds_a_working_baseline(block):
    model = baseline_cnn(block, width=0.5).eval()
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_baseline_validates_arguments():
    with pytest.raises(ValueError, match="block='nope' must be one of"):
        baseline_cnn("nope")
    with pytest.raises(ValueError, match="width=0"):
        baseline_cnn(width=0)
    with pytest.raises(ValueError, match="num_classes=0"):
        baseline_cnn(num_classes=0)
    from course_utils.models import BaselineCNN

    with pytest.raises(ValueError, match=r"stages=\(\(32,\),\) must list at least one \(channels, stride\) pair"):
        BaselineCNN(stages=((32,),))


@pytest.mark.slow
def test_a_committed_run_is_reproduced(bundled, tmp_path):
    """Retrain the committed lab run of the course baseline (standard block, width 1, seed 0) from scratch:
    the same key, and an accuracy within the noise of another draw of it."""
    from course_utils.experiments import spec

    run = spec("nb07_standard")
    stored = json.loads((COMMITTED_RESULTS_DIR / "nb07_standard.json").read_text())
    result = train(run.build(), bundled, run.config, name=run.name, hooks=run.hooks(), store=Store(tmp_path))
    assert result.key == stored["key"] and stored["provenance"]["precision"] == "torch.float32"
    # Another thread count or CPU sums in another order (and draws the initial weights through other vector
    # kernels), so the retrain is another draw of the same recipe: the seed-to-seed std of this configuration
    # is about 0.6 points, two draws differ by σ ≈ 0.85 points, and 3.5 points is about 4σ.
    # (Whether the recipe reaches 70 % in 60 s is the benchmark's question: benchmarks/README.md.)
    assert abs(result.test_accuracy - stored["test_accuracy"]) <= 0.035


def test_the_model_comes_back_on_the_cpu_in_eval_mode_trained_or_loaded(small, tmp_path):
    model = tiny_model()
    train(model, small, tiny_config(epochs=1), name="ready", store=Store(tmp_path))
    assert not model.training and next(model.parameters()).device.type == "cpu"
    assert all(p.dtype == torch.float32 and p.is_contiguous() for p in model.parameters())
    again = tiny_model().train()
    assert train(again, small, tiny_config(epochs=1), name="ready", store=Store(tmp_path)).cached
    assert not again.training
