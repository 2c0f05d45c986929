"""measure_latency: what it times, in which mode, and its argument checks. No wall-clock time is asserted:
the timer is replaced by a fake that runs the timed statement once and reports a fixed median."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from course_utils import latency as latency_module
from course_utils.latency import measure_latency


class FakeTimer:
    """Stands in for torch.utils.benchmark.Timer: runs the statement once, reports a 2.5 ms median."""
    calls: list[dict] = []

    def __init__(self, stmt: str, globals: dict):
        self.stmt, self.globals = stmt, globals

    def blocked_autorange(self, min_run_time: float):
        module = self.globals["module"]
        FakeTimer.calls.append({"stmt": self.stmt, "min_run_time": min_run_time, "training": module.training,
                                "grad_enabled": torch.is_grad_enabled(), "x": self.globals["x"]})
        exec(self.stmt, self.globals)
        return SimpleNamespace(median=0.0025)


@pytest.fixture
def fake_timer(monkeypatch):
    FakeTimer.calls = []
    monkeypatch.setattr(latency_module, "benchmark", SimpleNamespace(Timer=FakeTimer))
    return FakeTimer.calls


def test_forward_is_timed_in_eval_mode_without_a_graph(fake_timer):
    conv = nn.Conv2d(4, 4, 3, padding=1)
    conv.train()
    assert measure_latency(conv, (2, 4, 8, 8), min_run_time=0.05) == pytest.approx(2.5)   # seconds → ms
    (call,) = fake_timer
    assert call["stmt"] == "module(x)" and call["min_run_time"] == 0.05
    assert not call["training"] and not call["grad_enabled"]
    assert call["x"].shape == (2, 4, 8, 8)
    assert conv.training                                   # the caller's mode is restored


def test_backward_is_timed_in_train_mode_and_computes_gradients(fake_timer):
    conv = nn.Conv2d(4, 4, 3, padding=1)
    conv.eval()
    measure_latency(conv, (1, 4, 8, 8), backward=True)
    (call,) = fake_timer
    assert call["stmt"] == "module(x).sum().backward()" and call["training"] and call["grad_enabled"]
    assert conv.weight.grad is not None and call["x"].grad is not None
    assert not conv.training


def test_mode_is_restored_when_the_module_fails(fake_timer):
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("broken")

    module = Broken().train()
    with pytest.raises(RuntimeError, match="broken"):
        measure_latency(module, (1, 2))
    assert module.training


def test_the_real_timer_returns_a_number():
    result = measure_latency(nn.Identity(), (1, 2), min_run_time=0.001)   # integration only: no timing asserted
    assert isinstance(result, float) and not math.isnan(result)


@pytest.mark.parametrize("kwargs, words", [
    (dict(module="conv", input_size=(1, 3)), "module=str"),
    (dict(module=nn.Identity(), input_size=(1, 0)), "input_size=(1, 0)"),
    (dict(module=nn.Identity(), input_size=(True, 3)), "input_size=(True, 3)"),
    (dict(module=nn.Identity(), input_size=3), "input_size=3 must be a tuple"),
    (dict(module=nn.Identity(), input_size=(1, 3), min_run_time=0), "min_run_time=0"),
    (dict(module=nn.Identity(), input_size=(1, 3), backward="no"), "backward='no' must be True or False"),
    (dict(module=nn.Identity(), input_size=(1, 3), device=0), "device=0 must be None"),
])
def test_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        measure_latency(**kwargs)
