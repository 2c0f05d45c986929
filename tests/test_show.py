"""show_source shows a layer's idea without its argument checks, and says that it left them out."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from course_utils import cost, layers
from course_utils.layers.shift import shift_groups
from course_utils.layers.shift_attention import ShiftAttentionConv2d
from course_utils.models.squeezenet import squeezenet_cifar
from course_utils.operators import sal_block
from course_utils.show import MARKER, show_source, source_without_checks

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SHOWN = [cost.conv2d_cost, layers.DecomposedConv2d, layers.Fire, layers.DepthwiseConv2d,
         layers.DepthwiseSeparableConv2d.__init__, layers.DepthwiseSeparableConv2d.forward,
         layers.InvertedResidual.__init__, layers.InvertedResidual.forward, layers.Shift2d, shift_groups,
         ShiftAttentionConv2d.attention_map, ShiftAttentionConv2d.kernel, ShiftAttentionConv2d.forward,
         ShiftAttentionConv2d.to_shift, squeezenet_cifar, sal_block]


@pytest.mark.parametrize("obj", SHOWN, ids=lambda obj: obj.__qualname__)
def test_no_checks_and_still_python(obj):
    text = source_without_checks(obj)
    assert "checks." not in text
    assert "raise ValueError" not in text
    ast.parse(text)                                     # what is shown is still valid Python


def test_checks_become_the_value_they_check_and_a_marker_says_so():
    text = source_without_checks(layers.Fire.__init__)
    assert "self.in_channels = in_channels" in text
    assert MARKER in text
    forward = source_without_checks(layers.Fire.forward)
    assert forward.splitlines()[1].strip() == MARKER    # the input check of forward
    assert "torch.cat" in forward


def test_loops_of_checks_and_guards_are_dropped_whole():
    text = source_without_checks(cost.conv2d_cost)
    assert "for name, value in" not in text             # a loop that only checked its arguments
    assert text.count(MARKER) == 1
    assert "weights = k * l * (c_in // groups) * c_out" in text
    guarded = source_without_checks(ShiftAttentionConv2d.to_shift)
    assert "harden() first" not in guarded and "ChannelShift" in guarded


def test_private_plumbing_is_left_out_and_docstrings_and_comments_kept():
    text = source_without_checks(layers.Shift2d)
    assert "_frozen_groups =" not in text
    assert '"""Move each channel' in text
    fire = source_without_checks(layers.Fire)
    assert "# Attribute names follow torchvision's Fire" in fire


def test_converting_check_is_shown_as_torch_conversion():
    text = source_without_checks(layers.DecomposedConv2d.__init__)
    assert "self.kernel_size = nn.modules.utils._pair(kernel_size)" in text


def test_show_source_prints_and_refuses_non_code(capsys):
    show_source(layers.Fire.forward, layers.Shift2d.forward)
    printed = capsys.readouterr().out
    assert printed.count("def forward") == 2 and "checks." not in printed
    with pytest.raises(ValueError, match="must be a class, function or method"):
        show_source(42)
    with pytest.raises(ValueError, match="at least one"):
        show_source()


def test_no_notebook_dumps_source_with_inspect():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert not re.search(r"inspect\.getsource", code), path.name
