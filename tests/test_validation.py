"""Impossible arguments raise ValueError naming the argument, its value and the rule."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import checks, cost
from course_utils.layers import (DecomposedConv2d, DepthwiseConv2d, DepthwiseSeparableConv2d, Fire,
                                 InvertedResidual, Shift2d, ShiftAttentionConv2d, ShiftConv2d)

CASES = [
    # (callable, expected words in the message)
    (lambda: DecomposedConv2d(0, 8), ["in_channels=0", "positive"]),
    (lambda: DecomposedConv2d(8, -1), ["out_channels=-1", "positive"]),
    (lambda: DecomposedConv2d(8, 8, (3, 0)), ["kernel_size=(3, 0)", "positive"]),
    (lambda: DecomposedConv2d(8, 8, (3, 4)), ["kernel_size=4", "odd"]),
    (lambda: DecomposedConv2d(8, 8, stride=0), ["stride=0", "positive"]),
    (lambda: Fire(64, squeeze=0, expand1x1=64, expand3x3=64), ["squeeze=0", "positive"]),
    (lambda: Fire(64, squeeze=16, expand1x1=64, expand3x3=2.5), ["expand3x3=2.5", "integer"]),
    (lambda: DepthwiseConv2d(16, depth_multiplier=0), ["depth_multiplier=0", "positive"]),
    (lambda: DepthwiseSeparableConv2d(16, 32, stride=0), ["stride=0", "positive"]),
    (lambda: DepthwiseSeparableConv2d(16, 32, kernel_size=-3), ["kernel_size=-3", "positive"]),
    (lambda: InvertedResidual(16, 16, expand_ratio=0), ["expand_ratio=0", "positive"]),
    (lambda: InvertedResidual(16, 16, stride=0), ["stride=0", "must be one of 1, 2"]),
    (lambda: InvertedResidual(4, 16, expand_ratio=0.1), ["expand_ratio=0.1", "hidden channel"]),
    (lambda: Shift2d(16, kernel_size=4), ["kernel_size=4", "odd"]),
    (lambda: Shift2d(0), ["channels=0", "positive"]),
    (lambda: ShiftConv2d(16, 16, stride=0), ["stride=0", "positive"]),
    (lambda: cost.conv2d_cost(3, 3, 64, 64, groups=3), ["groups=3 must divide c_in=64"]),
    (lambda: cost.conv2d_cost(3, 3, 6, 64, groups=3), ["groups=3 must divide c_out=64"]),
    (lambda: cost.depthwise_conv_cost(3, 3, 16, depth_multiplier=0), ["depth_multiplier=0"]),
    (lambda: cost.conv_output_size(4, 7), ["kernel_size=7", "must not exceed"]),
    (lambda: cost.conv_output_size(32, 3, stride=0), ["stride=0"]),
    (lambda: cost.count("not a model", (1, 3, 8, 8)), ["model=str"]),
    (lambda: cost.count(Shift2d(3), (1, 3, 0, 8)), ["input_size=(1, 3, 0, 8)"]),
    (lambda: cost.costs_table({}), ["costs={}"]),
    (lambda: cost.costs_table({"a": cost.Cost(1, 1)}, reference="b"), ["reference='b'"]),
]


@pytest.mark.parametrize("make, words", CASES, ids=[" ".join(w) for _, w in CASES])
def test_bad_argument_is_named_in_value_error(make, words):
    with pytest.raises(ValueError) as error:
        make()
    for word in words:
        assert word in str(error.value)


def test_shift_rejects_wrong_channel_count():
    with pytest.raises(ValueError, match=r"must have 8 channels: \(N, 8, H, W\)"):
        Shift2d(8)(torch.zeros(1, 4, 5, 5))


# ---------------------------------------------------------------------------------------------
# Positional traps: numbers in the place nn.Conv2d's habits put them must raise, not build something else
# ---------------------------------------------------------------------------------------------
TRAPS = [
    # DepthwiseConv2d has no output width: (32, 64, 3) once meant a 64×64 kernel, stride 3, padding 32.
    (lambda: DepthwiseConv2d(32, 64, 3), TypeError),
    # (32, 2): an even kernel turned 8×8 into 9×9.
    (lambda: DepthwiseConv2d(32, 2), TypeError),
    (lambda: DepthwiseConv2d(32, kernel_size=2), ValueError),
    # InvertedResidual(32, 64, 6) meant t = 6 and built stride 6.
    (lambda: InvertedResidual(32, 64, 6), ValueError),
    # depthwise_conv_cost(3, 3, 32, 64) took 64 as D.
    (lambda: cost.depthwise_conv_cost(3, 3, 32, 64), TypeError),
    (lambda: cost.conv2d_cost(3, 3, 16, 32, 8, 8), TypeError),
    (lambda: cost.inverted_residual_cost(16, 16, 8, 8), TypeError),
    (lambda: cost.fire_cost(64, 16, 64, 64), TypeError),
    (lambda: Fire(64, 16, 64, 64), TypeError),
    (lambda: DepthwiseSeparableConv2d(16, 32, 3, 1, 2), TypeError),
    (lambda: ShiftConv2d(16, 16, 3, 1, True), TypeError),
    (lambda: DecomposedConv2d(16, 16, 3, 1, True), TypeError),
    (lambda: ShiftConv2d(16, 16, kernel_size=2), ValueError),
]


@pytest.mark.parametrize("make, error", TRAPS, ids=range(len(TRAPS)))
def test_positional_trap_raises(make, error):
    with pytest.raises(error):
        make()


def test_inverted_residual_stride_must_be_1_or_2():
    with pytest.raises(ValueError, match=r"stride=3 must be one of 1, 2"):
        InvertedResidual(16, 16, 3)


@pytest.mark.parametrize("make", [
    lambda: DecomposedConv2d(8, 8, bias="no"),
    lambda: DepthwiseConv2d(8, bias="no"),
    lambda: ShiftConv2d(8, 8, bias="no"),
    lambda: cost.conv2d_cost(3, 3, 8, 8, bias="no"),
    lambda: cost.depthwise_separable_cost(3, 3, 8, 8, batchnorm=1),
])
def test_bias_no_is_refused(make):
    with pytest.raises(ValueError, match="must be True or False"):
        make()


# ---------------------------------------------------------------------------------------------
# Every layer's forward refuses what is not an (N, C, H, W) float batch with its C
# ---------------------------------------------------------------------------------------------
def layers_of_8_channels():
    return {
        "DecomposedConv2d": DecomposedConv2d(8, 8),
        "DepthwiseConv2d": DepthwiseConv2d(8),
        "DepthwiseSeparableConv2d": DepthwiseSeparableConv2d(8, 8),
        "Fire": Fire(8, squeeze=2, expand1x1=4, expand3x3=4),
        "InvertedResidual": InvertedResidual(8, 8),
        "Shift2d": Shift2d(8),
        "ShiftConv2d": ShiftConv2d(8, 8),
        "ShiftAttentionConv2d": ShiftAttentionConv2d(8, 8),
    }


@pytest.mark.parametrize("name", list(layers_of_8_channels()))
def test_forward_refuses_a_3d_input(name):
    layer = layers_of_8_channels()[name]
    with pytest.raises(ValueError, match=r"must be 4-D \(N, 8, H, W\)"):
        layer(torch.zeros(8, 16, 16))   # Fire used to concatenate along H and return (16, 16, 8)


@pytest.mark.parametrize("name", list(layers_of_8_channels()))
def test_forward_refuses_the_wrong_channel_count_and_uint8(name):
    layer = layers_of_8_channels()[name]
    with pytest.raises(ValueError, match="must have 8 channels"):
        layer(torch.zeros(1, 4, 8, 8))
    with pytest.raises(ValueError, match=r"course_utils.data.normalize"):
        layer(torch.zeros(1, 8, 8, 8, dtype=torch.uint8))


def test_shift_attention_temperature_must_be_finite():
    with pytest.raises(ValueError, match="temperature=inf"):
        ShiftAttentionConv2d(4, 4, temperature=float("inf"))
    with pytest.raises(ValueError, match="temperature=inf"):
        ShiftAttentionConv2d(4, 4).set_temperature(float("inf"))
    with pytest.raises(ValueError, match="temperature=nan"):
        ShiftAttentionConv2d(4, 4, temperature=float("nan"))
    with pytest.raises(TypeError):
        ShiftAttentionConv2d(4, 4, 3, 1, True)      # shared is keyword-only
    with pytest.raises(ValueError, match="bias='no'"):
        ShiftAttentionConv2d(4, 4, bias="no")


# ---------------------------------------------------------------------------------------------
# The checks pass a valid value through unchanged (the proof behind their key_neutral mark)
# ---------------------------------------------------------------------------------------------
_integers = st.one_of(st.integers(1, 2**40), st.integers(1, 2**40).map(np.int64), st.integers(1, 2**31 - 1).map(np.int32),
                      st.integers(1, 2**40).map(torch.tensor))
_reals = st.one_of(st.floats(1e-9, 1e9), st.floats(1e-9, 1e9).map(np.float32), st.integers(1, 10**6),
                   st.floats(1e-9, 1e9).map(lambda v: torch.tensor(v, dtype=torch.float64)))


def _plain(value):
    return value.item() if hasattr(value, "item") else value


@settings(max_examples=200, deadline=None)
@given(count=_integers, real=_reals, share=st.floats(0, 1), odd=st.integers(0, 100).map(lambda v: 2 * v + 1),
       flag=st.booleans(), seed=st.integers(0, 2**64 - 1))
def test_checks_pass_valid_values_through_unchanged(count, real, share, odd, flag, seed):
    """Each check that is ``key_neutral`` returns the value it is given (as the same number) or raises: it can
    stop a run, never change one."""
    assert checks.positive_int("n", count) == _plain(count)
    assert checks.non_negative_int("n", count) == _plain(count)
    assert checks.seed("seed", seed) == seed
    assert checks.positive_number("x", real) == _plain(real)
    assert checks.fraction("p", share) == share
    assert checks.odd_positive_int("k", odd) == odd
    assert checks.boolean("flag", flag) is flag
    assert checks.one_of("name", "b", ("a", "b")) == "b"
    assert checks.is_int(count) is not isinstance(count, torch.Tensor)
    assert checks.divides("groups", 1, "channels", _plain(count)) is None
    assert checks.image_batch(torch.zeros(1, 3, 2, 2), 3) is None


# ---------------------------------------------------------------------------------------------
# Explorers, registries, models, data, kernel calls: a clear error, never a foreign one
# ---------------------------------------------------------------------------------------------
def test_the_cost_explorer_refuses_a_value_off_its_slider_and_a_c_out_it_would_ignore():
    from course_utils.widgets import CostExplorer

    explorer = CostExplorer(operators=["standard"], knobs=["k", "c_in"])
    with pytest.raises(ValueError, match=r"k=4 must be one of \[1, 3, 5, 7"):
        explorer.update(k=4)
    with pytest.raises(ValueError, match="c_out=16 cannot be set with same_channels=True"):
        CostExplorer(same_channels=True, c_out=16)


def test_the_score_explorer_names_a_malformed_model():
    from course_utils.challenge import ScoreExplorer

    with pytest.raises(ValueError, match=r"models\['mine'\]=\(1, 2, 3\) must be a Cost or a \(params, macs\) pair"):
        ScoreExplorer({"mine": (1, 2, 3)})


def test_register_block_checks_the_builder_takes_three_arguments():
    from course_utils.models import register_block

    with pytest.raises(ValueError, match=r"builder=.* must take three arguments, builder\(in_channels, out_channels, "
                                         r"stride\); it takes \(c_in, c_out\)"):
        register_block("two", lambda c_in, c_out: None)


@pytest.mark.parametrize("model, match", [
    (lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 10)).half(),
     "torch.float16 parameters: train.* call model.float"),
    (lambda: torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                 torch.nn.Linear(4, 10)),
     r"model does not take a batch of CIFAR-10 images \(N, 3, 32, 32\): RuntimeError"),
    (lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 7)), r"model returns \(2, 7\)"),
])
def test_train_refuses_a_model_that_cannot_learn_cifar10(model, match):
    from course_utils import TrainConfig, load_cifar10, train

    with pytest.raises(ValueError, match=match):
        train(model(), load_cifar10().subset(train=256, test=64), TrainConfig(epochs=1, progress=False))


def test_shift_channels_refuses_a_group_past_the_last_channel():
    from course_utils.layers.shift import shift_channels

    with pytest.raises(ValueError, match=r"groups holds \(4, 9, 0, 1\): .* 0 <= first <= end <= C = 8"):
        shift_channels(torch.zeros(1, 8, 4, 4), [(0, 4, 1, 0), (4, 9, 0, 1)])


def test_a_corrupted_image_inside_a_copy_is_found_by_its_checksum(tmp_path):
    import sys
    import numpy as np
    from pathlib import Path
    from course_utils.data import load_cifar10

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
    from make_bundle import crc32s, write_npz_deterministic

    full = dict(np.load(Path(__file__).resolve().parents[1] / "data" / "cifar10-train5k-test10k-jpeg.npz"))
    arrays = {"train_jpeg": full["train_jpeg"][:full["train_offsets"][20]], "train_offsets": full["train_offsets"][:21],
              "y_train": full["y_train"][:20], "test_jpeg": full["test_jpeg"][:full["test_offsets"][10]],
              "test_offsets": full["test_offsets"][:11], "y_test": full["y_test"][:10],
              "class_names": full["class_names"]}
    for split in ("train", "test"):
        arrays[f"{split}_crc32"] = crc32s(arrays[f"{split}_jpeg"], arrays[f"{split}_offsets"])
    write_npz_deterministic(tmp_path / "mine.npz", arrays)
    assert len(load_cifar10(path=tmp_path / "mine.npz").train_labels) == 20
    jpeg = arrays["train_jpeg"].copy()
    jpeg[arrays["train_offsets"][7] + 300] ^= 0x5A          # inside image 7: it may still decode
    write_npz_deterministic(tmp_path / "bad.npz", {**arrays, "train_jpeg": jpeg})
    with pytest.raises(ValueError, match="bad.npz: train image 7 is corrupt: its JPEG bytes do not match the CRC-32"):
        load_cifar10(path=tmp_path / "bad.npz")


def test_an_unwritable_download_root_is_an_error_not_a_fallback(tmp_path):
    from pathlib import Path

    from course_utils.data import load_cifar10

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match=r"root=.* cannot be created: .* is a file, not a folder"):
        load_cifar10(download=True, root=blocker / "cifar10")
    if Path("/proc/self").is_dir():                      # Linux: a read-only place where even root cannot write
        with pytest.raises(ValueError, match=r"root='/proc/cifar10' is not writable"):
            load_cifar10(download=True, root="/proc/cifar10")
