"""Graders of notebook 06 (shift layers and the Shift Attention Layer).

1. build it: a shift + 1×1 block (Wu et al. 2018), graded against
   :class:`course_utils.layers.ShiftConv2d`;
2. the memory of one hardened SAL layer and of a 3×3 convolution (Hacene et al. 2020's accounting);
3. how saturated a freshly initialised SAL is: the fraction of attention slices that are one-hot
   before any training, softmax(T·a/std(a)) with a ~ U(0, 1), at T = 1, 5 and 20 (a function);
4. (Going further) the output map of one hardened SAL filter: a different shift per input channel,
   then a weighted sum (a tensor, computed from :func:`exercise_4_data`).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..grading import NOT_YET, Verdict, check_block, check_value, prepared_student_block
from ..layers import ShiftConv2d
from ..layers.shift import shift_groups
from ..layers.shift_attention import sal_memory_words

Group = tuple[int, int, int, int]


# ---------------------------------------------------------------------------------------------
# Exercise 1: build a shift + 1×1 block
# ---------------------------------------------------------------------------------------------
# (C_in, C_out, k): the same width (so "shift after the 1×1" can be recognised), then k = 5.
EX1_CASES = ((18, 18, 3), (50, 20, 5))
EX1_INPUT_SIZE = 7


def _zero_fill_shift(x: torch.Tensor, groups: Sequence[Group]) -> torch.Tensor:
    """out[:, a:b, y, x] = x[:, a:b, y + dy, x + dx], 0 outside the image (slices only)."""
    out = torch.zeros_like(x)
    height, width = x.shape[-2:]
    for first, end, dy, dx in groups:
        rows_out = slice(max(-dy, 0), height - max(dy, 0))
        rows_in = slice(max(dy, 0), height + min(dy, 0))
        cols_out = slice(max(-dx, 0), width - max(dx, 0))
        cols_in = slice(max(dx, 0), width + min(dx, 0))
        out[:, first:end, rows_out, cols_out] = x[:, first:end, rows_in, cols_in]
    return out


def _wrapping_shift(x: torch.Tensor, groups: Sequence[Group]) -> torch.Tensor:
    """The same shift with torch.roll and no zero fill: the border wraps around."""
    out = x.clone()
    for first, end, dy, dx in groups:
        out[:, first:end] = torch.roll(x[:, first:end], shifts=(-dy, -dx), dims=(2, 3))
    return out


def _swapped(groups: Sequence[Group]) -> list[Group]:
    return [(first, end, dx, dy) for first, end, dy, dx in groups]


def _opposite(groups: Sequence[Group]) -> list[Group]:
    return [(first, end, -dy, -dx) for first, end, dy, dx in groups]


class _ShiftConvVariant(nn.Module):
    """Shift + 1×1 with one switchable mistake, to recognise a student's output."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *,
                 shift: Callable[[torch.Tensor, Sequence[Group]], torch.Tensor] = _zero_fill_shift,
                 groups: Sequence[Group] | None = None, shift_after: bool = False) -> None:
        super().__init__()
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.groups = list(groups if groups is not None
                           else shift_groups(in_channels, kernel_size))
        self.shift = shift
        self.shift_after = shift_after

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shift_after:
            return self.shift(self.pointwise(x), self.groups)
        return self.pointwise(self.shift(x, self.groups))


def _ex1_mistakes(c_in: int, c_out: int, k: int) -> dict[str, Callable[[], nn.Module]]:
    groups = shift_groups(c_in, k)
    mistakes: dict[str, Callable[[], nn.Module]] = {
        "the border wraps around (torch.roll alone): the pixels that come in from outside the "
        "image must be zeros": lambda: _ShiftConvVariant(c_in, c_out, k, shift=_wrapping_shift),
        "the offsets are swapped: (dy, dx) moves rows by dy (dim 2) and columns by dx (dim 3)":
            lambda: _ShiftConvVariant(c_in, c_out, k, groups=_swapped(groups)),
        "each group moves the wrong way: out[y, x] = in[y + dy, x + dx], so torch.roll needs "
        "shifts=(-dy, -dx)": lambda: _ShiftConvVariant(c_in, c_out, k, groups=_opposite(groups)),
        "the roll moves the wrong way and wraps around": lambda: _ShiftConvVariant(
            c_in, c_out, k, shift=_wrapping_shift, groups=_opposite(groups)),
    }
    if c_in == c_out:
        mistakes["the shift comes after the 1×1 convolution: shift the input first"] = (
            lambda: _ShiftConvVariant(c_in, c_out, k, shift_after=True))
    return mistakes



def check_exercise_1(block_class: object) -> Verdict:
    """Grade ``MyShiftConv(in_channels, out_channels, kernel_size)`` against ``ShiftConv2d``.

    Cases (C_in, C_out, k) of :data:`EX1_CASES`; a wrong output is matched against the typical
    mistakes: wrap-around instead of zero fill, (dy, dx) swapped, the shift the wrong way, the
    shift after the 1×1.
    """
    for c_in, c_out, k in EX1_CASES:
        input_shape = (2, c_in, EX1_INPUT_SIZE, EX1_INPUT_SIZE)
        block = prepared_student_block(block_class, input_shape, c_in, c_out, k)
        verdict = block if isinstance(block, Verdict) else check_block(
            block, ShiftConv2d(c_in, c_out, k), input_shape=input_shape, mistakes=_ex1_mistakes(c_in, c_out, k))
        if not verdict.passed:
            case = f"(C_in={c_in}, C_out={c_out}, k={k})"
            return Verdict(False, verdict.message.replace("❌ Not yet:", f"❌ Not yet {case}:", 1))
    return Verdict(True, "✅ Correct: same outputs as ShiftConv2d for k = 3 and k = 5, and the "
                         "cost of a 1×1 convolution: C_in·C_out MACs per position.")


# ---------------------------------------------------------------------------------------------
# Exercise 2: memory of a hardened SAL layer and of a 3×3 convolution, 128 → 128
# ---------------------------------------------------------------------------------------------
EX2_CHANNELS, EX2_KERNEL = 128, 3


def check_exercise_2(sal_words: object, conv_words: object) -> Verdict:
    """32-bit words: hardened SAL C_in·C_out·(32 + 4)/32, a 3×3 conv 9·C_in·C_out."""
    c, k = EX2_CHANNELS, EX2_KERNEL
    sal_expected = sal_memory_words(c, c, kernel_size=k)
    conv_expected = k * k * c * c
    if sal_words is None or conv_words is None:
        return Verdict(False, NOT_YET)
    conv = check_value(conv_words, conv_expected,
                       hints={c * c: "that is one weight per slice: a 3×3 convolution stores "
                                     "9 weights per (out, in) slice."},
                       general_hint="a 3×3 convolution stores 9 weights per (out, in) slice.",
                       success="")
    if not conv:
        return Verdict(False, conv.message.replace("Not yet:", "Not yet (the 3×3 conv):", 1))
    sal = check_value(sal_words, sal_expected,
                      hints={c * c: "the 4-bit tap index of each kept weight is missing: "
                                    "4/32 of a word per slice.",
                             c * c * 5: "the tap index takes 4 bits, not 4 words.",
                             c * c * 4 / 32: "each slice keeps its weight too, not only its "
                                             "4-bit index.",
                             c * c * k * k * 36 / 32: "a hardened SAL keeps one weight per "
                                                      "slice, not k².",
                             2 * c * c: "the tap index takes 4 bits, not a whole word."},
                      general_hint="one 32-bit weight plus a 4-bit tap index per (out, in) "
                                   "slice.",
                      success="")
    if not sal:
        return Verdict(False, sal.message.replace("Not yet:", "Not yet (the SAL):", 1))
    return Verdict(True, f"✅ Correct: {sal_expected:,.0f} against {conv_expected:,} words, "
                         f"{conv_expected / sal_expected:.1f}× less memory.")


# ---------------------------------------------------------------------------------------------
# Exercise 3: how many slices are one-hot before any training?
# ---------------------------------------------------------------------------------------------
EX3_SLICES, EX3_TAPS, EX3_SEED = 20_000, 9, 3
EX3_TEMPERATURES = (1.0, 5.0, 20.0)
EX3_THRESHOLD = 0.99
EX3_TOLERANCE = 0.002        # a few slices may round the other way at 0.99 in another float order


def exercise_3_logits() -> torch.Tensor:
    """Attention logits a ~ U(0, 1) of shape (slices, 9), as ``ShiftAttentionConv2d`` initialises them."""
    generator = torch.Generator().manual_seed(EX3_SEED)
    return torch.rand(EX3_SLICES, EX3_TAPS, generator=generator)


def _one_hot_share(logits: torch.Tensor, temperature: float, *, std: str = "taps", divide: bool = True,
                   softmax_dim: int = -1, statistic: str = "fraction") -> float:
    """The reference (defaults) and its typical mistakes: the fraction of slices whose largest
    softmax(T·a/std(a)) is ≥ 0.99. ``std``: 'taps' (each slice's, n − 1), 'population' (each slice's,
    n) or 'all' (one std for the whole tensor); ``statistic``: 'fraction', 'percent' or 'mean peak'."""
    if divide:
        spread = {"taps": lambda: logits.std(-1, keepdim=True),
                  "population": lambda: logits.std(-1, keepdim=True, unbiased=False),
                  "all": lambda: logits.std()}[std]()
        logits = logits / spread
    peaks = torch.softmax(temperature * logits, dim=softmax_dim).amax(-1)
    if statistic == "mean peak":
        return float(peaks.mean())
    share = float((peaks >= EX3_THRESHOLD).float().mean())
    return 100 * share if statistic == "percent" else share


EX3_MISTAKES: dict[str, dict[str, object]] = {
    "divide the logits by their standard deviation over the 9 taps first: A = softmax(T·a/std(a))":
        {"divide": False},
    "the standard deviation is taken over each slice's 9 taps (dim=-1), not over the whole tensor":
        {"std": "all"},
    "the layer uses torch's std, which divides by n − 1 (np.std and unbiased=False divide by n)":
        {"std": "population"},
    "the softmax runs over the 9 taps of each slice (dim=-1), not over the slices": {"softmax_dim": 0},
    "return the fraction of slices whose largest A is ≥ 0.99, not the mean of the largest A":
        {"statistic": "mean peak"},
    "return a fraction between 0 and 1, not a percentage": {"statistic": "percent"},
}


def check_exercise_3(one_hot_at_init: object) -> Verdict:
    """Grade ``one_hot_at_init(logits, temperature)``: the fraction of the slices of ``logits`` (shape
    (slices, 9), a ~ U(0, 1)) whose largest attention softmax(T·a/std(a)) is ≥ 0.99, at T = 1, 5, 20."""
    if one_hot_at_init is None:
        return Verdict(False, NOT_YET)
    if not callable(one_hot_at_init):
        return Verdict(False, f"❌ Not yet — pass your function itself, not a {type(one_hot_at_init).__name__}.")
    logits = exercise_3_logits()
    answers = []
    for temperature in EX3_TEMPERATURES:
        try:
            with torch.no_grad():
                answer = one_hot_at_init(logits.clone(), temperature)
        except NotImplementedError:
            return Verdict(False, "❌ Not yet — the function still raises NotImplementedError.")
        except Exception as error:  # the student's code: say what it raised
            return Verdict(False, f"❌ Not yet — one_hot_at_init(logits, {temperature:g}) raised "
                                  f"{type(error).__name__}: {error}")
        if hasattr(answer, "item") and not isinstance(answer, (int, float)):   # a 1-element tensor or array
            try:
                answer = answer.item()
            except (RuntimeError, ValueError):
                pass
        if isinstance(answer, bool) or not isinstance(answer, (int, float)) or not math.isfinite(answer):
            return Verdict(False, f"❌ Not yet — return one number (a fraction), not {answer!r}.")
        answers.append(float(answer))

    def matches(**mistake: object) -> bool:
        scale = 100 if mistake.get("statistic") == "percent" else 1
        return all(abs(answer - _one_hot_share(logits, t, **mistake)) <= EX3_TOLERANCE * scale
                   for answer, t in zip(answers, EX3_TEMPERATURES))

    if matches():
        shares = ", ".join(f"{answer:.0%} at T = {t:g}" for answer, t in zip(answers, EX3_TEMPERATURES))
        return Verdict(True, f"✅ Correct: one-hot before any training: {shares}. At the authors' T = 20 "
                             "many slices start saturated: their softmax passes almost no gradient.")
    for hint, mistake in EX3_MISTAKES.items():
        if matches(**mistake):
            return Verdict(False, f"❌ Not yet: {hint}.")
    return Verdict(False, "❌ Not yet: for each slice, A = softmax(T·a/std(a)) over its 9 taps; count the "
                          "slices whose largest A is ≥ 0.99 and divide by the number of slices.")

# ---------------------------------------------------------------------------------------------
# Exercise 4 (Going further): one output map of a hardened SAL
# ---------------------------------------------------------------------------------------------
EX4_CHANNELS, EX4_SIZE, EX4_SEED = 6, 7, 1


def exercise_4_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x, taps, w): x of shape (1, C, H, W), the kept tap t(c) of each input channel (an index
    0..8, t = (dy + 1)·3 + (dx + 1)), and the kept weight w[c]."""
    generator = torch.Generator().manual_seed(EX4_SEED)
    x = torch.randn(1, EX4_CHANNELS, EX4_SIZE, EX4_SIZE, generator=generator)
    taps = torch.randint(0, 9, (EX4_CHANNELS,), generator=generator)
    w = torch.randn(EX4_CHANNELS, generator=generator)
    return x, taps, w


def _one_tap_conv(x: torch.Tensor, taps: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Σ_c w[c]·shift_t(c)(x[c]) as a 3×3 convolution with one non-zero tap per slice."""
    kernel = torch.zeros(1, x.shape[1], 3, 3)
    for c in range(x.shape[1]):
        kernel[0, c].view(-1)[taps[c]] = w[c]
    return F.conv2d(x, kernel, padding=1)[:, 0]


def check_exercise_4(answer: object) -> Verdict:
    """y = Σ_c w[c]·shift_{t(c)}(x[c]), shape (1, H, W), for the data of exercise_4_data()."""
    x, taps, w = exercise_4_data()
    expected = _one_tap_conv(x, taps, w)
    if answer is None:
        return Verdict(False, NOT_YET)
    if not torch.is_tensor(answer):
        return Verdict(False, f"❌ Not yet — the answer must be a tensor, not "
                              f"{type(answer).__name__}.")
    if answer.shape != expected.shape:
        return Verdict(False, f"❌ Not yet: your answer has shape {tuple(answer.shape)}, "
                              f"expected {tuple(expected.shape)} (one output map: sum over c).")
    answer = answer.detach().float()
    if torch.allclose(answer, expected, atol=1e-5):
        return Verdict(True, "✅ Correct: a hardened SAL filter is one 1×1 weight per input "
                             "channel, each on its own shifted copy.")
    mirrored = torch.flip(x, dims=(2, 3))
    if torch.allclose(torch.flip(answer, dims=(1, 2)), _one_tap_conv(mirrored, taps, w),
                      atol=1e-5):
        return Verdict(False, "❌ Not yet: each channel moves the wrong way: "
                              "out[y, x] = in[y + dy, x + dx].")
    transposed = _one_tap_conv(x.transpose(2, 3), taps, w).transpose(1, 2)
    if torch.allclose(answer, transposed, atol=1e-5):
        return Verdict(False, "❌ Not yet: dy and dx are swapped: dy = t // 3 − 1 moves rows, "
                              "dx = t % 3 − 1 moves columns.")
    if torch.allclose(answer, _one_tap_conv(x, taps, torch.ones_like(w)), atol=1e-5):
        return Verdict(False, "❌ Not yet: multiply each shifted channel by its weight w[c].")
    return Verdict(False, "❌ Not yet: shift each channel by its own (dy, dx) = (t // 3 − 1, "
                          "t % 3 − 1), multiply by w[c], sum over c.")


__all__ = ["check_exercise_1", "check_exercise_2", "check_exercise_3", "exercise_3_logits",
           "check_exercise_4", "exercise_4_data", "EX1_CASES"]
