from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.latency import measure_latency


def test_latency_is_positive_and_restores_mode():
    conv = nn.Conv2d(4, 4, 3, padding=1)
    conv.train()
    assert measure_latency(conv, (1, 4, 8, 8), min_run_time=0.01) > 0
    assert measure_latency(conv, (1, 4, 8, 8), backward=True, min_run_time=0.01) > 0
    assert conv.training


def test_forward_timing_builds_no_graph():
    class Probe(nn.Module):
        def forward(self, x):
            assert not torch.is_grad_enabled()
            return x

    measure_latency(Probe(), (1, 2), min_run_time=0.01)


@pytest.mark.parametrize("kwargs, words", [
    (dict(module="conv", input_size=(1, 3)), "module=str"),
    (dict(module=nn.Identity(), input_size=(1, 0)), "input_size=(1, 0)"),
    (dict(module=nn.Identity(), input_size=(1, 3), min_run_time=0), "min_run_time=0"),
])
def test_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        measure_latency(**kwargs)
