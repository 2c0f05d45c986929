"""Exercise graders: check a student's answer and say what is wrong, never what is right.

Every exercise in the notebooks ends with a call such as ``check_exercise_1(answer)``, defined in
``course_utils.exercises`` (one module per notebook), built from the three checks below:

- :func:`check_value`: a number (MACs, a ratio, ...), with hints for the typical wrong answers;
- :func:`check_choice`: one of a few labelled options;
- :func:`check_block`: a layer the student *builds*. The reference's weights are copied into the
  student's module, both run on the same random input, then their costs are compared. A student
  whose output matches a known mistake (a missing ReLU, a wrong stride, ...) is told which one.

Each check returns a :class:`Verdict`, which prints as one line starting with ✅ or ❌.
The graders' own tests (right answer accepted, typical mistakes rejected with the right hint)
live in ``tests/test_exercises.py``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real

import torch
from torch import nn

from .cost import count

NOT_YET = "❌ Not yet — replace None with your answer."


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: passed or not, and the one-line message shown to the student."""

    passed: bool
    message: str

    def __repr__(self) -> str:
        return self.message

    def __bool__(self) -> bool:
        return self.passed


def _is_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _close(a: float, b: float, rel_tol: float) -> bool:
    return math.isclose(float(a), float(b), rel_tol=rel_tol, abs_tol=1e-12)


def check_value(answer: object, expected: float, *, hints: Mapping[float, str] | None = None,
                general_hint: str, success: str, rel_tol: float = 1e-9) -> Verdict:
    """Compare a numeric ``answer`` with ``expected`` (relative tolerance ``rel_tol``).

    ``hints`` maps typical wrong values to what the student probably forgot; any other wrong value
    gets ``general_hint``. ``success`` is shown, after ✅, when the answer is right.
    """
    if not _is_number(expected):
        raise ValueError(f"expected={expected!r} must be a number")
    if not (_is_number(rel_tol) and 0 <= rel_tol < 1):
        raise ValueError(f"rel_tol={rel_tol!r} must be a number in [0, 1)")
    if answer is None:
        return Verdict(False, NOT_YET)
    if not _is_number(answer):
        return Verdict(False, f"❌ Not yet — the answer must be a number, not {type(answer).__name__}.")
    if _close(answer, expected, rel_tol):
        return Verdict(True, f"✅ Correct: {success}")
    for wrong, hint in (hints or {}).items():
        if _close(answer, wrong, rel_tol):
            return Verdict(False, f"❌ Not yet: {hint}")
    return Verdict(False, f"❌ Not yet: {general_hint}")


def check_choice(answer: object, expected: str, *, choices: Sequence[str], hints: Mapping[str, str],
                 success: str) -> Verdict:
    """Compare a multiple-choice ``answer`` (one of ``choices``) with ``expected``.

    ``hints`` gives, for each wrong choice, the reasoning the student should revisit.
    """
    if expected not in choices:
        raise ValueError(f"expected={expected!r} must be one of choices={list(choices)}")
    if answer is None:
        return Verdict(False, NOT_YET)
    if answer not in choices:
        return Verdict(False, f"❌ Not yet — answer with one of {', '.join(repr(c) for c in choices)}.")
    if answer == expected:
        return Verdict(True, f"✅ Correct: {success}")
    return Verdict(False, f"❌ Not yet: {hints.get(answer, 'reread the question.')}")


# ---------------------------------------------------------------------------------------------
# Build-it exercises
# ---------------------------------------------------------------------------------------------
def describe_weight(shape: torch.Size) -> str:
    """Words for a weight shape: a conv weight (C_out, C_in/G, k, l), a vector, or a matrix."""
    if len(shape) == 4:
        c_out, c_in, k, l = shape
        return f"a {k}×{l} conv weight {c_in} → {c_out} maps (shape {tuple(shape)})"
    if len(shape) == 1:
        return f"a vector of {shape[0]} (a bias or a BatchNorm γ/β)"
    return f"a tensor of shape {tuple(shape)}"


def _shape_mismatch(student: nn.Module, reference: nn.Module) -> str | None:
    """Which weights the reference has that the student's block lacks (and vice versa), or None."""
    ours = [tuple(p.shape) for p in reference.parameters()]
    theirs = [tuple(p.shape) for p in student.parameters()]
    missing, extra = list(ours), []
    for shape in theirs:
        if shape in missing:
            missing.remove(shape)
        else:
            extra.append(shape)
    if not missing and not extra:
        return None
    parts = []
    if missing:
        parts.append("the reference has " + "; ".join(describe_weight(torch.Size(s)) for s in missing)
                     + " that yours lacks")
    if extra:
        parts.append("yours has " + "; ".join(describe_weight(torch.Size(s)) for s in extra)
                     + " that the reference lacks")
    return " and ".join(parts)


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Copy every parameter and buffer of ``source`` into the tensor of the same shape in ``target``,
    matching them in registration order (so the student may name the submodules as they like)."""
    for kind in ("parameters", "buffers"):
        targets = list(getattr(target, kind)())
        used = [False] * len(targets)
        for tensor in getattr(source, kind)():
            for i, candidate in enumerate(targets):
                if not used[i] and candidate.shape == tensor.shape and candidate.dtype == tensor.dtype:
                    with torch.no_grad():
                        candidate.copy_(tensor)
                    used[i] = True
                    break


def _randomize(module: nn.Module, generator: torch.Generator) -> None:
    """Random weights and BatchNorm statistics, so that a missing BN or ReLU shows in the output."""
    with torch.no_grad():
        for tensor in module.parameters():
            tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.5)
        for layer in module.modules():
            if isinstance(layer, nn.modules.batchnorm._BatchNorm) and layer.running_mean is not None:
                layer.running_mean.copy_(torch.randn(layer.running_mean.shape, generator=generator) * 0.1)
                layer.running_var.copy_(torch.rand(layer.running_var.shape, generator=generator) + 0.5)


def check_block(student: object, reference: nn.Module, *, input_shape: Sequence[int],
                mistakes: Mapping[str, Callable[[], nn.Module]] | None = None, atol: float = 1e-4,
                success: str = "same weights, same outputs, same cost as the reference.") -> Verdict:
    """Grade a block the student built against ``reference``.

    1. Same weight shapes (else: name the weights that are missing or extra).
    2. The reference's (random) weights copied into the student's block; both run, in eval mode, on
       the same random input of ``input_shape``, in float32: same output shape, then same values (``atol``).
    3. Same MACs and parameters (``course_utils.cost.count``).
    When the outputs differ, each builder in ``mistakes`` (a known wrong version of the block, with
    the same weight shapes) is run with the same weights: a match names the student's mistake.
    """
    if not isinstance(reference, nn.Module):
        raise ValueError(f"reference={type(reference).__name__} must be an nn.Module")
    if len(input_shape) != 4 or not all(isinstance(s, int) and s >= 1 for s in input_shape):
        raise ValueError(f"input_shape={tuple(input_shape)!r} must be 4 positive integers (N, C, H, W)")
    if student is None:
        return Verdict(False, NOT_YET)
    if not isinstance(student, nn.Module):
        return Verdict(False, f"❌ Not yet — build an nn.Module instance, not a {type(student).__name__}.")
    mismatch = _shape_mismatch(student, reference)
    if mismatch is not None:
        return Verdict(False, f"❌ Not yet: {mismatch}.")

    generator = torch.Generator().manual_seed(0)
    _randomize(reference, generator)
    copy_weights(reference, student)
    x = torch.randn(tuple(input_shape), generator=generator)
    reference.eval()
    student.eval()
    with torch.no_grad(), torch.autocast("cpu", enabled=False):    # float32, even inside an autocast region
        expected = reference(x)
        try:
            got = student(x)
        except Exception as error:  # the student's forward is what we are grading
            return Verdict(False, f"❌ Not yet: your forward fails on an input of shape {tuple(x.shape)}: "
                                  f"{type(error).__name__}: {error}")
    if not isinstance(got, torch.Tensor):
        return Verdict(False, f"❌ Not yet: forward must return a tensor, not {type(got).__name__}.")
    if got.shape != expected.shape:
        return Verdict(False, f"❌ Not yet: your output has shape {tuple(got.shape)}, the reference's "
                              f"{tuple(expected.shape)} (check the stride, the padding and the channels).")
    if not torch.allclose(got, expected, atol=atol):
        for name, build in (mistakes or {}).items():
            variant = build()
            copy_weights(reference, variant)
            variant.eval()
            with torch.no_grad(), torch.autocast("cpu", enabled=False):
                if torch.allclose(got, variant(x), atol=atol):
                    return Verdict(False, f"❌ Not yet: same weights, different outputs — {name}.")
        return Verdict(False, "❌ Not yet: same weights, different outputs — check the order of the "
                              "operations, the activations and the padding.")
    ours, theirs = count(reference, tuple(input_shape)), count(student, tuple(input_shape))
    if (ours.macs, ours.params) != (theirs.macs, theirs.params):
        return Verdict(False, f"❌ Not yet: same outputs, but your block costs {theirs.macs:,} MACs and "
                              f"{theirs.params:,} parameters, the reference {ours.macs:,} and {ours.params:,}.")
    return Verdict(True, f"✅ Correct: {success}")


def build_student_block(block_class: object, *args: int, **kwargs: int) -> nn.Module | Verdict:
    """``block_class(*args, **kwargs)``: the student's block, or a Verdict saying why it could not be
    built (still None, an instance instead of the class, NotImplementedError, any other error)."""
    name = getattr(block_class, "__name__", repr(block_class))
    call = (f"{name}({', '.join(map(str, args))}"
            + "".join(f", {k}={v}" for k, v in kwargs.items()) + ")")
    if block_class is None:
        return Verdict(False, NOT_YET)
    if isinstance(block_class, nn.Module) or not isinstance(block_class, type):
        return Verdict(False, f"❌ Not yet — pass your class itself (no brackets), not a "
                              f"{type(block_class).__name__} object.")
    try:
        block = block_class(*args, **kwargs)
    except NotImplementedError:
        return Verdict(False, f"❌ Not yet — {name} still raises NotImplementedError: "
                              f"write its __init__ and forward.")
    except Exception as error:  # the student's constructor is what we are grading
        return Verdict(False, f"❌ Not yet: {call} fails: {type(error).__name__}: {error}")
    if not isinstance(block, nn.Module):
        return Verdict(False, f"❌ Not yet — {name} must subclass nn.Module.")
    return block


__all__ = ["Verdict", "check_value", "check_choice", "check_block", "build_student_block", "copy_weights",
           "describe_weight"]
