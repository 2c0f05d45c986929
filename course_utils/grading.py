"""Exercise graders: check a student's answer and say what is wrong, never what is right.

Every exercise in the notebooks ends with a call such as ``check_exercise_1(answer)``, defined in
``course_utils.exercises`` (one module per notebook), built from the three checks below:

- :func:`check_value`: a number (MACs, a ratio, ...), with hints for the typical wrong answers;
- :func:`check_choice`: one of a few labelled options;
- :func:`check_block`: a layer the student *builds*. The reference's weights are copied into the
  student's module, both run on the same random inputs (one of them large, so that a ReLU6 written
  for a ReLU shows), then their costs are compared. A student whose output matches a known mistake
  (a missing ReLU, a wrong stride, ...) is told which one.

Before any of that, :func:`build_student_block` and :func:`prepare_block` turn what a student may
hand in by mistake into a hint, never a traceback: an instance instead of the class, a constructor
or forward that fails, a forward that returns None (a missing ``return``) or a tuple, layers kept
in a plain list (torch does not see them), lazy layers (``nn.LazyConv2d``: one dry run gives them
their shapes). A block written another way (``nn.Sequential`` or attributes, ``torch.relu`` or
``nn.ReLU``, its own names and registration order) is graded on what it computes.

Each check returns a :class:`Verdict`, which prints as one line starting with ✅ or ❌ (shown in a notebook
as a green ✓ or a red ✗ badge, which read the same without an emoji font).
The graders' own tests (right answer accepted, typical mistakes rejected with the right hint)
live in ``tests/test_exercises_nbNN.py`` and ``tests/test_grading.py``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from .cost import count

NOT_YET = "❌ Not yet — replace None with your answer."


# The two marks as styled text, so that they read the same on every machine: ✅ and ❌ are emoji, drawn as
# empty boxes where no emoji font is installed (a bare Linux, many lecture-hall PCs). Each becomes a white
# ✓ or ✗ (U+2713, U+2717: in DejaVu Sans, Segoe UI Symbol and Apple Symbols, the fonts those systems have)
# on a green or red badge. Styled text, not SVG: JupyterLab keeps a span's style when it sanitises the saved
# outputs of a notebook that is not trusted yet, and removes SVG.
_BADGE = ('<span class="course-mark" title="{label}" style="display: inline-block; background-color: {colour}; '
          'color: #ffffff; font-weight: bold; border-radius: 0.25em; padding: 0 0.3em; margin-right: 0.1em; '
          'font-family: \'DejaVu Sans\', \'Segoe UI Symbol\', \'Apple Symbols\', sans-serif">{glyph}</span>')
MARKS: dict[str, str] = {
    "✅": _BADGE.format(label="correct", colour="#2e7d32", glyph="✓"),
    "❌": _BADGE.format(label="not yet", colour="#c62828", glyph="✗"),
}


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: passed or not, and the one-line message shown to the student. A notebook
    shows it as HTML, its ✅ and ❌ as a green ✓ and a red ✗ badge (``MARKS``: readable without an emoji font);
    as text (``print``, a terminal) it is the message itself."""

    passed: bool
    message: str

    def __repr__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        import html

        text = html.escape(self.message)
        for mark, badge in MARKS.items():
            text = text.replace(mark, badge)
        return f'<div class="course-verdict" style="white-space: pre-wrap">{text}</div>'

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
# The second test input is the first one times this factor: BatchNorm'd or not, activations then reach
# far above 6, so that a ReLU6 in place of a ReLU (or the reverse) changes the output.
LARGE_INPUT_SCALE = 10.0


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


def run_block(block: nn.Module, x: torch.Tensor) -> object:
    """``block(x)`` in eval mode, float32 (even inside an autocast region), without gradients, on a copy
    of ``x`` (a forward that works in place cannot change the grader's input)."""
    block.eval()
    with torch.no_grad(), torch.autocast("cpu", enabled=False):
        return block(x.clone())


def _execution_order(module: nn.Module, example: torch.Tensor | None) -> list[nn.Module]:
    """``module`` and its submodules in the order its forward calls them on ``example`` (then those
    it never calls, in registration order); registration order alone without an example."""
    modules = list(module.modules())
    if example is None:
        return modules
    called: list[nn.Module] = []
    hooks = [m.register_forward_pre_hook(lambda layer, args: called.append(layer)) for m in modules]
    try:
        run_block(module, example)
    except Exception:  # a forward that fails is graded elsewhere: fall back on registration order
        called = []
    finally:
        for hook in hooks:
            hook.remove()
    return list(dict.fromkeys(called + modules))


def _tensors(module: nn.Module, kind: str, example: torch.Tensor | None) -> list[torch.Tensor]:
    """The parameters (``kind="parameters"``) or buffers of ``module``, module by module in execution order."""
    found: dict[int, torch.Tensor] = {}
    for layer in _execution_order(module, example):
        for tensor in getattr(layer, kind)(recurse=False):
            found.setdefault(id(tensor), tensor)
    return list(found.values())


def copy_weights(source: nn.Module, target: nn.Module, *, example: torch.Tensor | None = None) -> None:
    """Copy every parameter and buffer of ``source`` into the tensor of the same shape in ``target``,
    matching them in order, so the student may name the submodules as they like. With ``example`` (an
    input) the order is the one in which each forward runs its layers, so the registration order does
    not matter either (two BatchNorms of the same width, registered in any order)."""
    for kind in ("parameters", "buffers"):
        targets = _tensors(target, kind, example)
        used = [False] * len(targets)
        for tensor in _tensors(source, kind, example):
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


def _same(got: torch.Tensor, expected: torch.Tensor, atol: float) -> bool:
    """Same shape and values, within ``atol`` times the largest expected value (at least 1)."""
    if got.shape != expected.shape:
        return False
    scale = max(1.0, float(expected.abs().max())) if expected.numel() else 1.0
    return bool(((got.float() - expected).abs() <= atol * scale).all())


def unregistered_layers(block: nn.Module) -> str | None:
    """A hint when the block keeps layers in a plain list, tuple or dict: torch does not register
    them, so their weights are not the block's parameters (not copied, trained, counted or saved)."""
    for owner in block.modules():
        for name, value in vars(owner).items():
            items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
            if not name.startswith("_") and any(isinstance(item, nn.Module) for item in items):
                kind = type(value).__name__
                return (f"your block keeps layers in a plain {kind} (self.{name}): torch does not register "
                        f"them, so their weights are not the block's parameters (the grader cannot copy "
                        f"them, an optimiser would not train them). Use nn.ModuleList([...]) or "
                        f"nn.Sequential(...)" + (" (nn.ModuleDict for a dict)." if kind == "dict" else "."))
    return None


def output_problem(output: object) -> str | None:
    """A hint when a forward returned something else than one tensor (None: a missing ``return``)."""
    if isinstance(output, torch.Tensor):
        return None
    if output is None:
        return "your forward returns None: did you forget the `return` at its end?"
    if isinstance(output, (tuple, list)):
        return (f"your forward returns a {type(output).__name__} of {len(output)} items, not one tensor "
                f"(a trailing comma after `return x`?): return the output tensor itself.")
    return f"your forward must return a tensor, not a {type(output).__name__}."


def _has_lazy(block: nn.Module) -> bool:
    return any(is_lazy(t) for t in (*block.parameters(), *block.buffers()))


def prepare_block(block: nn.Module, input_shape: Sequence[int], *,
                  structure: Callable[[nn.Module], str | None] | None = None) -> str | None:
    """Make the student's block ready to grade, or say why it cannot be graded (None when it can).

    Layers in a plain list are named first. Then one dry run on zeros of ``input_shape`` gives lazy
    layers (``nn.LazyConv2d``, ...) their shapes, and names a forward that still raises
    NotImplementedError, fails, or returns None or a tuple. ``structure`` (a grader's own check of the
    layers, e.g. "groups=1") runs once the shapes are known; its hint comes before a failing forward's.
    """
    hint = unregistered_layers(block)
    if hint is not None:
        return hint
    try:
        failure = output_problem(run_block(block, torch.zeros(tuple(input_shape))))
    except NotImplementedError:
        return "forward still raises NotImplementedError: write it."
    except Exception as error:  # the student's forward is what we are grading
        failure = (f"your forward fails on an input of shape {tuple(input_shape)}: "
                   f"{type(error).__name__}: {error}")
    if _has_lazy(block):
        return failure or ("a lazy layer (nn.LazyConv2d, ...) of your block never runs in its forward, so it "
                           "has no weights yet: use it in forward, or give it its in_channels (nn.Conv2d).")
    if structure is not None:
        hint = structure(block)
        if hint is not None:
            return hint
    return failure


def check_block(student: object, reference: nn.Module, *, input_shape: Sequence[int],
                mistakes: Mapping[str, Callable[[], nn.Module]] | None = None, atol: float = 1e-4,
                success: str = "same weights, same outputs, same cost as the reference.") -> Verdict:
    """Grade a block the student built against ``reference``.

    0. A block that cannot be graded gets its hint (:func:`prepare_block`).
    1. Same weight shapes (else: name the weights that are missing or extra).
    2. The reference's (random) weights copied into the student's block, in the order each forward
       runs its layers; both run, in eval mode and float32, on the same random input of
       ``input_shape`` and on that input times ``LARGE_INPUT_SCALE``: same output shape, then same
       values (within ``atol`` times the largest value).
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
    problem = prepare_block(student, input_shape)
    if problem is not None:
        return Verdict(False, f"❌ Not yet: {problem}")
    mismatch = _shape_mismatch(student, reference)
    if mismatch is not None:
        return Verdict(False, f"❌ Not yet: {mismatch}.")

    generator = torch.Generator().manual_seed(0)
    _randomize(reference, generator)
    x = torch.randn(tuple(input_shape), generator=generator)
    inputs = (x, LARGE_INPUT_SCALE * x)
    copy_weights(reference, student, example=x)
    expected = [run_block(reference, a) for a in inputs]
    got = []
    for a in inputs:
        try:
            output = run_block(student, a)
        except Exception as error:  # the student's forward is what we are grading
            return Verdict(False, f"❌ Not yet: your forward fails on an input of shape {tuple(a.shape)}: "
                                  f"{type(error).__name__}: {error}")
        problem = output_problem(output)
        if problem is not None:
            return Verdict(False, f"❌ Not yet: {problem}")
        got.append(output)
    if got[0].shape != expected[0].shape:
        return Verdict(False, f"❌ Not yet: your output has shape {tuple(got[0].shape)}, the reference's "
                              f"{tuple(expected[0].shape)} (check the stride, the padding and the channels).")
    if not all(_same(g, e, atol) for g, e in zip(got, expected)):
        for name, build in (mistakes or {}).items():
            variant = build()
            copy_weights(reference, variant, example=x)
            if all(_same(g, run_block(variant, a), atol) for g, a in zip(got, inputs)):
                return Verdict(False, f"❌ Not yet: same weights, different outputs — {name}.")
        return Verdict(False, "❌ Not yet: same weights, different outputs — check the order of the "
                              "operations, the activations (ReLU or ReLU6?) and the padding.")
    ours, theirs = count(reference, tuple(input_shape)), count(student, tuple(input_shape))
    if (ours.macs, ours.params) != (theirs.macs, theirs.params):
        return Verdict(False, f"❌ Not yet: same outputs, but your block costs {theirs.macs:,} MACs and "
                              f"{theirs.params:,} parameters, the reference {ours.macs:,} and {ours.params:,}.")
    return Verdict(True, f"✅ Correct: {success}")


def build_student_block(block_class: object, *args: int, **kwargs: int) -> nn.Module | Verdict:
    """``block_class(*args, **kwargs)``: the student's block, or a Verdict saying why it could not be
    built (still None, an instance instead of the class, NotImplementedError, any other error)."""
    name = getattr(block_class, "__name__", type(block_class).__name__)
    call = (f"{name}({', '.join(map(str, args))}"
            + "".join(f", {k}={v}" for k, v in kwargs.items()) + ")")
    if block_class is None:
        return Verdict(False, NOT_YET)
    if isinstance(block_class, nn.Module) or not isinstance(block_class, type):
        return Verdict(False, f"❌ Not yet — pass the class itself ({name}, no brackets), not a "
                              f"{type(block_class).__name__} object: the grader builds it at several sizes.")
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


def prepared_student_block(block_class: object, input_shape: Sequence[int], *args: int,
                           structure: Callable[[nn.Module], str | None] | None = None,
                           **kwargs: int) -> nn.Module | Verdict:
    """:func:`build_student_block`, then :func:`prepare_block`: the block, ready to grade, or the Verdict
    that says why it is not."""
    block = build_student_block(block_class, *args, **kwargs)
    if isinstance(block, Verdict):
        return block
    problem = prepare_block(block, input_shape, structure=structure)
    return block if problem is None else Verdict(False, f"❌ Not yet: {problem}")


__all__ = ["Verdict", "check_value", "check_choice", "check_block", "build_student_block", "prepare_block",
           "prepared_student_block", "copy_weights", "describe_weight", "output_problem", "run_block",
           "unregistered_layers", "LARGE_INPUT_SCALE"]
