"""The notebooks' training engine: ``train(model, data, TrainConfig(...), name=...)``.

- **Recipe** (:class:`TrainConfig`): SGD with Nesterov momentum, a one-cycle learning rate (linear warm-up,
  then linear decay to 0), label smoothing, weight decay on the weights (not on BatchNorm or biases), random
  crop + flip run batched on the device, channels-last tensors, bfloat16 autocast where the hardware has it
  (``course_utils.precision``; ``COURSE_PRECISION`` forces a path), and test-time averaging of the logits of
  each image and its mirror image. A fixed number of epochs, or a time budget (``budget_s``).
- **Measured in float32** (:func:`evaluate`): after every epoch the loss and accuracy on the first
  ``CURVE_TEST_IMAGES`` test images (``curve_test_*`` in ``history``); at the end the final ``test_accuracy``,
  once, on the whole test set with flip averaging, of the model as ``train`` returns it (on the CPU): exactly
  what ``evaluate(model, ..., tta=True)`` gives for it afterwards.
- **Stored runs** (``course_utils.runs``): a named run is stored with its key (:func:`run_key`: the model's
  architecture and code, the hooks, this file's training code, the recipe, the seed and the data), and a call
  with the same key returns it at once with its weights loaded. Live runs go to the git-ignored
  ``data/local-results/``; ``data/results/`` holds the committed runs, made by the scripts in ``benchmarks/``
  and read by ``course_utils.experiments`` without training.
- Ctrl-C / "interrupt kernel" returns the partial record (``partial=True``, never stored). A loss that becomes
  NaN or infinite stops training with ``TrainingDiverged``; a run whose history holds a non-finite value or a
  training loss above ``MAX_STORED_LOSS`` is returned but never stored.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import checks, runs
from .cost import count
from .data import CIFAR10Data, normalize, random_crop_flip
from .fingerprint import code_key, model_classes, module_state
from .precision import autocast_dtype, resolve_precision
from .provenance import provenance
from .runs import COMMITTED_RESULTS_DIR, LOCAL_RESULTS_DIR, Store, StoredRunError, TrainResult

DEFAULT_EPOCHS = 20           # the course baseline on the bundled subset: about 30 s on 2 CPU cores
DEFAULT_LR = 0.15
DEFAULT_BATCH_SIZE = 128
DEFAULT_WEIGHT_DECAY = 1e-3
DEFAULT_LABEL_SMOOTHING = 0.2
DEFAULT_WARMUP = 0.2          # fraction of training spent warming the learning rate up
MOMENTUM = 0.9                # SGD with Nesterov momentum
CURVE_TEST_IMAGES = 1000      # per-epoch curves use the first 1,000 test images; the final number all of them
# A training loss above this never belongs to a run worth keeping: chance is ln 10 ≈ 2.3 nats, and label
# smoothing only lowers the peak. A run that ever exceeds it diverged (e.g. lr=1e6 reaches 2e16).
MAX_STORED_LOSS = 10.0

_clock = time.perf_counter    # the training clock; tests replace it with a fake one


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite: the run is stopped and never stored."""


# ---------------------------------------------------------------------------------------------
# The recipe
# ---------------------------------------------------------------------------------------------
def _flag(name: str, value: object) -> bool:
    """Return ``value`` if it is True or False, else raise ``ValueError`` ("no", 1 and None are refused)."""
    if value is not True and value is not False:
        hint = " (a toggle button? pass its .value)" if hasattr(value, "value") else ""
        raise ValueError(f"{name}={value!r} must be True or False{hint}")
    return value


def _finite(name: str, value: object, *, low: float, low_included: bool, high: float = math.inf,
            high_included: bool = False) -> float:
    """Return ``value`` if it is a real number (not a bool) in the stated interval, else raise ``ValueError``."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    ok = (not isinstance(value, bool) and isinstance(value, Real) and math.isfinite(value)
          and (value >= low if low_included else value > low) and (value <= high if high_included else value < high))
    if not ok:
        interval = f"{'[' if low_included else '('}{low:g}, {high:g}{']' if high_included else ')'}"
        raise ValueError(f"{name}={value!r} must be a finite number in {interval}")
    return float(value)


@dataclass(frozen=True)
class TrainConfig:
    """The recipe of a run, checked when it is made. Every field but ``device`` and ``progress`` is part of
    a stored run's key (``precision`` as the path it takes: 'fp32' or 'bf16').

    - ``epochs`` (default ``DEFAULT_EPOCHS``) or ``budget_s`` (seconds from the call, set-up and final
      evaluation included; such runs are never stored): give at most one.
    - ``seed``: initial weights (``reset=True``), batch order and augmentation.
    - ``reset=False`` trains the weights the model holds (the key then includes them).
    - ``precision``: 'fp32', 'bf16', 'auto', or None for ``COURSE_PRECISION`` (else 'auto').
    - ``device``: None (a GPU when there is one), 'cpu' or 'cuda[:N]'; ``progress``: show a progress bar.
    """

    epochs: int | None = None
    budget_s: float | None = None
    seed: int = 0
    lr: float = DEFAULT_LR
    batch_size: int = DEFAULT_BATCH_SIZE
    weight_decay: float = DEFAULT_WEIGHT_DECAY
    label_smoothing: float = DEFAULT_LABEL_SMOOTHING
    warmup: float = DEFAULT_WARMUP
    tta: bool = True
    reset: bool = True
    precision: str | None = None
    device: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.epochs is not None and self.budget_s is not None:
            raise ValueError(f"epochs={self.epochs} and budget_s={self.budget_s} are exclusive: give one of them")
        if self.epochs is not None:
            checks.positive_int("epochs", self.epochs)
        if self.budget_s is not None:
            _finite("budget_s", self.budget_s, low=0, low_included=False)
        checks.seed("seed", self.seed)
        _finite("lr", self.lr, low=0, low_included=False)
        checks.positive_int("batch_size", self.batch_size)
        _finite("weight_decay", self.weight_decay, low=0, low_included=True)
        _finite("label_smoothing", self.label_smoothing, low=0, low_included=True, high=1)
        _finite("warmup", self.warmup, low=0, low_included=True, high=1)
        _flag("tta", self.tta)
        _flag("reset", self.reset)
        _flag("progress", self.progress)
        resolve_precision(self.precision)
        if self.device is not None and not (isinstance(self.device, str)
                                            and (self.device == "cpu" or self.device.startswith("cuda"))):
            raise ValueError(f"device={self.device!r} must be None (automatic), 'cpu' or 'cuda[:N]'")

    @property
    def total_epochs(self) -> int | None:
        """The epochs trained: ``epochs``, ``DEFAULT_EPOCHS`` when neither it nor a budget is given, None under a budget."""
        if self.budget_s is not None:
            return None
        return self.epochs if self.epochs is not None else DEFAULT_EPOCHS

    def recipe(self, precision_path: str) -> dict[str, Any]:
        """The key's recipe: every number that changes the run, ``precision_path`` being 'fp32' or 'bf16'."""
        return {"epochs": self.total_epochs, "budget_s": self.budget_s, "lr": self.lr, "batch_size": self.batch_size,
                "weight_decay": self.weight_decay, "label_smoothing": self.label_smoothing, "warmup": self.warmup,
                "momentum": MOMENTUM, "nesterov": True, "augment": "crop4+flip", "tta": self.tta,
                "reset": self.reset, "precision": precision_path, "curve_test_images": CURVE_TEST_IMAGES}


@dataclass(frozen=True)
class Hooks:
    """Code run inside training, part of a stored run's key: ``step(model, step, total_steps)`` before every
    optimiser step (``total_steps`` is an estimate under a budget); ``epoch(model, epoch)`` after every epoch,
    whose returned dict (if any) is added to that epoch's ``history`` row; ``final(model, data)`` once, on the
    model as returned (CPU, float32), whose dict is the run's ``measures`` (e.g. a hardened SAL's accuracy)."""

    step: Callable[[nn.Module, int, int], None] | None = None
    epoch: Callable[[nn.Module, int], dict[str, Any] | None] | None = None
    final: Callable[[nn.Module, CIFAR10Data], dict[str, float]] | None = None

    def __post_init__(self) -> None:
        for name in ("step", "epoch", "final"):
            hook = getattr(self, name)
            if hook is not None and not callable(hook):
                raise ValueError(f"{name}={hook!r} must be callable or None")


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
def default_device() -> str:
    """'cuda' when a GPU is visible, else 'cpu'."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def one_cycle(progress: float, warmup: float = DEFAULT_WARMUP) -> float:
    """Learning-rate factor at ``progress`` ∈ [0, 1]: p / w while warming up, then (1 − p) / (1 − w)."""
    if progress < warmup:
        return progress / warmup
    return max(0.0, (1 - progress) / (1 - warmup))


def reset_parameters(model: nn.Module, seed: int) -> None:
    """Fresh weights: ``torch.manual_seed(seed)``, then the model's own ``reset_parameters()`` if it
    has one (e.g. SqueezeNet's Kaiming initialisation), else that of every submodule which has one; and
    every BatchNorm's running mean, variance and batch count back to their initial values. So a run
    depends on the architecture and the seed only, whether the model object is new or reused (the model
    is first moved back to the CPU in the default memory layout, where a new model is initialised: the
    random numbers drawn depend on both)."""
    checks.seed("seed", seed)
    model.to("cpu", memory_format=torch.contiguous_format)
    torch.manual_seed(seed)
    if callable(getattr(model, "reset_parameters", None)):
        model.reset_parameters()
    else:
        for module in model.modules():
            if callable(getattr(module, "reset_parameters", None)):
                module.reset_parameters()
    for module in model.modules():
        if callable(getattr(module, "reset_running_stats", None)):
            module.reset_running_stats()


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int = 500,
             tta: bool = False) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on uint8 ``images``, on the model's device.

    Always in float32 (autocast is switched off, even inside an autocast region), so the number does not
    depend on the precision the model was trained in: ``train()``'s final ``test_accuracy`` is this function's
    value for the model it returns. With ``tta``, the logits of each image and of its mirror image are
    averaged. A model that still holds the initial weights it had when a stored run without weights was
    loaded into it is refused: its accuracy would be that of an untrained network."""
    _flag("tta", tta)
    checks.positive_int("batch_size", batch_size)
    if len(labels) == 0 or len(images) != len(labels):
        raise ValueError(f"images ({len(images)}) and labels ({len(labels)}) must be non-empty and of equal length")
    runs.refuse_untrained_load(model)
    low = sorted({str(p.dtype) for p in model.parameters() if p.is_floating_point() and p.dtype != torch.float32})
    if low:
        raise ValueError(f"model has {', '.join(low)} parameters: evaluate() measures in float32, "
                         "so call model.float() first")
    return measure(model, images, labels, batch_size=batch_size, tta=tta)


@torch.no_grad()
def measure(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int = 500,
             tta: bool = False) -> tuple[float, float]:
    """What :func:`evaluate` computes once it has checked its arguments: the training code calls this directly
    (float32, autocast off; with ``tta`` the logits of each image and its mirror image averaged)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters(), torch.empty(0)).device
    total_loss, correct = 0.0, 0
    for start in range(0, len(labels), batch_size):
        x = normalize(images[start:start + batch_size].to(device)).contiguous(memory_format=torch.channels_last)
        y = labels[start:start + batch_size].to(device)
        with torch.autocast(device.type, enabled=False):
            logits = model(x).float()
            if tta:
                logits = (logits + model(x.flip(3)).float()) / 2
        total_loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    model.train(was_training)
    return total_loss / len(labels), correct / len(labels)


def _final_accuracy(model: nn.Module, data: CIFAR10Data, *, tta: bool, partial: bool,
                    history: list[dict[str, float]]) -> float:
    """The run's ``test_accuracy``: ``evaluate`` on the whole test set of the model as ``train`` returns it
    (CPU, float32). An interrupted run is measured without flip averaging; interrupted again, it falls back
    to the last point of its curve."""
    if not partial:
        return measure(model, data.test_images, data.test_labels, tta=tta)[1]
    try:
        return measure(model, data.test_images, data.test_labels)[1]
    except KeyboardInterrupt:
        return history[-1]["curve_test_accuracy"] if history else math.nan


# ---------------------------------------------------------------------------------------------
# Schedules: how far training is, by steps or by the clock
# ---------------------------------------------------------------------------------------------
class EpochSchedule:
    """A fixed number of epochs: the fraction done is step / total steps."""

    def __init__(self, epochs: int, steps_per_epoch: int) -> None:
        self.epochs, self.total_steps = epochs, epochs * steps_per_epoch

    def fraction(self, step: int, elapsed: float) -> float:
        return step / self.total_steps

    def steps_estimate(self, step: int, elapsed: float) -> int:
        return self.total_steps

    def record_step(self, seconds: float) -> None:
        """Nothing to learn from a step's time."""

    def after_evaluation(self, model: nn.Module, seconds_per_image: float, images: torch.Tensor) -> None:
        """Nothing to learn from an evaluation's time."""

    def last_epoch(self, epoch: int) -> bool:
        return epoch >= self.epochs


class TimeBudget:
    """A time budget from the call: the fraction done is the time spent over the time there is for training,
    i.e. the budget less what the evaluations still to come will take (measured on the first evaluation; the
    final one runs on the CPU, timed separately when training runs elsewhere)."""

    def __init__(self, budget_s: float, batch_size: int, device: str, curve_images: int, final_passes: int) -> None:
        self.budget_s, self.batch_size, self.device = budget_s, batch_size, device
        self.curve_images, self.final_passes = curve_images, final_passes
        self.epochs = None
        self.eval_per_image = self.final_per_image = self.step_seconds = 0.0

    @staticmethod
    def _estimate(eval_seconds_per_image: float, train_seconds_per_image: float, images: int) -> float:
        """Seconds for ``images`` forward passes: as measured, or before any evaluation half a training step each."""
        if eval_seconds_per_image > 0:
            return eval_seconds_per_image * images + 0.2
        return 0.5 * train_seconds_per_image * images + 0.5

    def reserve(self) -> float:
        per_image = self.step_seconds / self.batch_size
        return (self._estimate(self.eval_per_image, per_image, self.curve_images)
                + self._estimate(self.final_per_image, per_image, self.final_passes))

    def fraction(self, step: int, elapsed: float) -> float:
        reserve = self.reserve()
        if step == 0 and elapsed >= self.budget_s - reserve:
            raise ValueError(f"budget_s={self.budget_s} is too small for one training step and the final "
                             f"evaluation (about {reserve:.1f} s on {self.device})")
        return elapsed / max(self.budget_s - reserve, 1e-3)

    def steps_estimate(self, step: int, elapsed: float) -> int:
        return max(step + 1, round(step * self.budget_s / max(elapsed, 1e-3)))

    def record_step(self, seconds: float) -> None:
        self.step_seconds = seconds

    def after_evaluation(self, model: nn.Module, seconds_per_image: float, images: torch.Tensor) -> None:
        self.eval_per_image = seconds_per_image
        if not self.final_per_image:
            self.final_per_image = (seconds_per_image if self.device == "cpu"
                                    else _cpu_seconds_per_image(model, images[:64]))

    def last_epoch(self, epoch: int) -> bool:
        return False


def _cpu_seconds_per_image(model: nn.Module, images: torch.Tensor) -> float:
    """Seconds per image of ``evaluate`` on a CPU float32 copy of ``model``, timed on ``images``."""
    cpu_copy = copy.deepcopy(model).to("cpu", dtype=torch.float32, memory_format=torch.contiguous_format)
    started = _clock()
    evaluate(cpu_copy, images, torch.zeros(len(images), dtype=torch.long))
    return (_clock() - started) / len(images)


# ---------------------------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------------------------
def _fit(model: nn.Module, data: CIFAR10Data, config: TrainConfig, device: str, amp: torch.dtype | None,
         hooks: Hooks, schedule: EpochSchedule | TimeBudget, start: float,
         on_step: Callable[[int, float, float], None], on_epoch: Callable[[list[dict]], None]) -> tuple[list[dict], bool]:
    """The training loop proper: (history, partial). ``on_step(steps, loss, accuracy)`` and ``on_epoch(history)``
    show progress; they change no number."""
    generator = torch.Generator().manual_seed(config.seed)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": config.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=config.lr, momentum=MOMENTUM, nesterov=True)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    train_images, train_labels = data.train_images.to(device), data.train_labels.to(device)
    curve_images = min(CURVE_TEST_IMAGES, len(data.test_labels))
    curve_x, curve_y = data.test_images[:curve_images], data.test_labels[:curve_images]
    n = len(train_labels)
    steps_per_epoch = n // config.batch_size           # drop the last incomplete batch: BN needs real batches
    history: list[dict[str, float]] = []
    step, step_start = 0, start
    model.train()
    try:
        epoch = 0
        while True:
            epoch += 1
            order = torch.randperm(n, generator=generator).to(device)
            augmented = random_crop_flip(train_images, generator)
            loss_sum, correct, seen, out_of_time = 0.0, 0, 0, False
            for i in range(steps_per_epoch):
                elapsed = _clock() - start
                fraction = schedule.fraction(step, elapsed)
                if fraction >= 1:
                    out_of_time = True
                    break
                lr = config.lr * one_cycle(fraction, config.warmup)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                idx = order[i * config.batch_size:(i + 1) * config.batch_size]
                x = normalize(augmented[idx]).contiguous(memory_format=torch.channels_last)
                y = train_labels[idx]
                with torch.autocast(torch.device(device).type, dtype=amp or torch.bfloat16, enabled=amp is not None):
                    logits = model(x)
                    loss = loss_fn(logits.float(), y)
                loss_value = loss.item()
                if not math.isfinite(loss_value):
                    raise TrainingDiverged(
                        f"Training diverged: the loss is {loss_value} at epoch {epoch}, step {step + 1} "
                        f"(learning rate {lr:.4g}, peak lr={config.lr}). Try a smaller lr; nothing was stored.")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if hooks.step is not None:
                    hooks.step(model, step, schedule.steps_estimate(step, elapsed))
                optimizer.step()
                step += 1
                now = _clock()
                if step > 1:
                    schedule.record_step(now - step_start)
                step_start = now
                loss_sum += loss_value * len(y)
                correct += (logits.argmax(1) == y).sum().item()
                seen += len(y)
                on_step(step, loss_sum / seen, correct / seen)
            if seen:
                eval_start = _clock()
                curve_loss, curve_acc = measure(model, curve_x, curve_y)
                schedule.after_evaluation(model, (_clock() - eval_start) / curve_images, curve_x)
                step_start += _clock() - eval_start
                row = {"epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
                       "curve_test_loss": curve_loss, "curve_test_accuracy": curve_acc,
                       "lr": optimizer.param_groups[0]["lr"], "seconds": _clock() - start}
                if hooks.epoch is not None:
                    row.update(hooks.epoch(model, epoch) or {})
                history.append(row)
                on_epoch(history)
            if out_of_time or schedule.last_epoch(epoch):
                return history, False
    except KeyboardInterrupt:
        return history, True


def training_code_key() -> tuple[str, list[str]]:
    """(hash, unknown): one hash of the code that trains and measures every run (this loop, its schedule, the
    augmentation, the evaluation and the initialisation), read from its source like a model's code
    (``course_utils.fingerprint``), and what of it could not be read."""
    key = code_key({"loop": _fit, "schedule": EpochSchedule, "final": _final_accuracy, "initialisation": reset_parameters})
    return hashlib.sha256(json.dumps(key.hashes, sort_keys=True).encode()).hexdigest()[:16], key.unknown


# ---------------------------------------------------------------------------------------------
# The key of a run
# ---------------------------------------------------------------------------------------------
def run_key(model: nn.Module, data_digest: str, config: TrainConfig, hooks: Hooks | None = None, *,
            name: str | None = None, device: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """(key, unknown): everything that can change a run's numbers, and what of it could not be read.

    The architecture (``repr(model)`` and every module's own state: ``fingerprint.module_state``), the code of
    every class in the model and of each hook, the training code (:func:`training_code_key`), the recipe with
    the precision path it takes on ``device``, the seed, the data's digest and, with ``reset=False``, the
    weights the model starts from. Not the device, the thread count or the CPU: they are provenance."""
    hooks = hooks or Hooks()
    device = device or config.device or default_device()
    path = "bf16" if autocast_dtype(device, config.precision, model) is not None else "fp32"
    code = code_key({"model": model_classes(model), "step_hook": hooks.step, "epoch_hook": hooks.epoch,
                     "final_hook": hooks.final})
    state, state_unknown = module_state(model)
    training_code, training_unknown = training_code_key()
    key = {"name": name, "architecture": repr(model), "module_state": state, "code": code.hashes,
           "training_code": training_code, "recipe": config.recipe(path), "seed": config.seed,
           "data": data_digest, "initial_weights": None if config.reset else runs.weights_fingerprint(model)}
    return key, code.unknown + state_unknown + training_unknown


# ---------------------------------------------------------------------------------------------
# train()
# ---------------------------------------------------------------------------------------------
def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where a display handle can update a figure in place)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _check_arguments(model: object, data: object, config: object, name: object, hooks: object, store: object,
                     flags: dict[str, object]) -> None:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model={type(model).__name__} must be a torch.nn.Module instance")
    if not isinstance(data, CIFAR10Data):
        raise ValueError(f"data={type(data).__name__} must be a CIFAR10Data from course_utils.load_cifar10()")
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config={config!r} must be a TrainConfig (e.g. TrainConfig(epochs=5)) or None")
    if name is not None and (not isinstance(name, str) or not name or name.startswith(".")
                             or not all(c.isalnum() or c in "_-." for c in name)):
        raise ValueError(f"name={name!r} must be a non-empty string of letters, digits, '_', '-', '.' "
                         "(not starting with '.')")
    if not isinstance(hooks, Hooks):
        raise ValueError(f"hooks={hooks!r} must be a Hooks(step=..., epoch=...) or None")
    if not isinstance(store, Store):
        raise ValueError(f"store={store!r} must be a course_utils.runs.Store or None")
    for flag_name, value in flags.items():
        _flag(flag_name, value)
    if config.batch_size > len(data.train_labels):
        raise ValueError(f"batch_size={config.batch_size} must not exceed the {len(data.train_labels)} training images")


def _check_model_takes_cifar10(model: nn.Module) -> None:
    """Raise ``ValueError`` unless ``model`` has float32 weights and maps a batch of CIFAR-10 images
    (N, 3, 32, 32) to (N, 10) logits (tried on two blank images, in eval mode, without gradients)."""
    low = sorted({str(p.dtype) for p in model.parameters() if p.is_floating_point() and p.dtype != torch.float32})
    if low:
        raise ValueError(f"model has {', '.join(low)} parameters: train() trains float32 weights (autocast "
                         "does the rest), so call model.float() first")
    device = next(model.parameters(), torch.empty(0)).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros(2, 3, 32, 32, device=device))
    except Exception as error:  # noqa: BLE001  (whatever the model raises: the message shows it)
        raise ValueError(f"model does not take a batch of CIFAR-10 images (N, 3, 32, 32): "
                         f"{type(error).__name__}: {error}") from None
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, 10):
        shown = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model returns {shown} for 2 images: train() needs (N, 10), one logit per CIFAR-10 class")


def train(model: nn.Module, data: CIFAR10Data, config: TrainConfig | None = None, *, name: str | None = None,
          hooks: Hooks | None = None, retrain: bool = False, live_plot: bool = False,
          store: Store | None = None, title: str | None = None) -> TrainResult:
    """Train ``model`` on ``data`` with the recipe ``config`` (default: ``TrainConfig()``, the course recipe).

    With a ``name``, a run of fixed epochs is stored, and a stored run with the same key (:func:`run_key`) is
    returned at once with its weights loaded into ``model``; a stored run with another key is retrained, with
    one line saying what changed. ``store`` says where (``course_utils.runs.Store``): by default, look in
    ``data/results/`` (the committed runs) and then ``data/local-results/`` (your live runs), save to the
    latter; ``Store(folder)`` looks in and saves to ``folder`` only. ``retrain=True`` (or ``COURSE_RETRAIN=1``)
    trains anyway. Code the key cannot read (``course_utils.fingerprint``) is never looked up nor stored.

    ``live_plot=True`` draws loss and accuracy per epoch in one figure updated in place (in a notebook), titled
    ``title`` (default: ``name``, or "train"); the title names nothing in the key. On
    return, trained or loaded, ``model`` is on the CPU in float32 and eval mode, and a trained run's
    ``test_accuracy`` is exactly ``evaluate(model, data.test_images, data.test_labels, tta=config.tta)[1]``.
    """
    called_at = _clock()
    config = TrainConfig() if config is None else config
    hooks = Hooks() if hooks is None else hooks
    store = Store() if store is None else store
    _check_arguments(model, data, config, name, hooks, store, {"retrain": retrain, "live_plot": live_plot})
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise ValueError(f"title={title!r} must be a non-empty string (the live plot's title) or None")
    device = config.device or default_device()
    retrain = retrain or runs.retrain_requested()
    key, unknown = run_key(model, data.digest, config, hooks, name=name, device=device)
    storable = name is not None and config.budget_s is None
    if storable and unknown:
        print(f"{name}: not looked up in the stored runs, and will not be stored: {'; '.join(unknown)}.")
        storable = False
    if storable and not retrain:
        cached = runs.lookup(model, key, store)
        if cached is not None:
            return _ready_to_analyse(model, cached)

    _check_model_takes_cifar10(model)
    if config.reset:
        reset_parameters(model, config.seed)
    cost = count(model, (1, 3, 32, 32))
    model.to(device, memory_format=torch.channels_last)
    amp = autocast_dtype(device, config.precision, model)
    result = _train_and_measure(model, data, config, hooks, device, amp, name, live_plot, called_at, title)
    result.params, result.macs, result.key = cost.params, cost.macs, key
    result.provenance = provenance(device) | {"precision": str(amp or torch.float32), "data_source": data.source,
                                              "data_identity": data.identity}
    if result.partial:
        print(f"Interrupted after {len(result.history)} epoch(s): partial result, not stored.")
    elif storable:
        diverged = _diverged(result.history)
        if diverged:
            print(f"{name}: finished but not stored: {diverged}.")
        else:
            runs.save(result, model, store)
    return result


def _diverged(history: list[dict[str, Any]]) -> str | None:
    """Why a finished run is not worth storing (a non-finite number, a training loss above ``MAX_STORED_LOSS``),
    or None."""
    if not runs.finite_history(history):
        return "its history holds a NaN or infinite value: training diverged"
    worst = max((row["train_loss"] for row in history), default=0.0)
    if worst > MAX_STORED_LOSS:
        return (f"its training loss reached {worst:.3g}, above MAX_STORED_LOSS = {MAX_STORED_LOSS:g} (chance is "
                f"ln 10 ≈ 2.3): training diverged; try a smaller lr")
    return None


def _train_and_measure(model: nn.Module, data: CIFAR10Data, config: TrainConfig, hooks: Hooks, device: str,
                       amp: torch.dtype | None, name: str | None, live_plot: bool, called_at: float,
                       title: str | None = None) -> TrainResult:
    """Train, then measure the returned model: the record, not yet stored."""
    from tqdm.auto import tqdm

    curve_images = min(CURVE_TEST_IMAGES, len(data.test_labels))
    steps_per_epoch = len(data.train_labels) // config.batch_size
    if config.total_epochs is not None:
        schedule: EpochSchedule | TimeBudget = EpochSchedule(config.total_epochs, steps_per_epoch)
    else:
        schedule = TimeBudget(config.budget_s, config.batch_size, device, curve_images,
                              len(data.test_labels) * (2 if config.tta else 1))
    label = name or "train"
    total_steps = schedule.total_steps if isinstance(schedule, EpochSchedule) else None
    bar = tqdm(total=total_steps, desc=label, unit="step", disable=not config.progress, leave=True)
    plot = None
    if live_plot and _in_notebook():
        from .widgets import LiveCurves
        plot = LiveCurves(title or label, config.total_epochs, curve_images, runs.committed_history(name))

    def on_step(steps: int, loss: float, accuracy: float) -> None:
        bar.update(1)
        if steps % 5 == 1:
            bar.set_postfix(loss=f"{loss:.3f}", acc=f"{accuracy:.3f}", refresh=False)

    def on_epoch(history: list[dict]) -> None:
        row = history[-1]
        bar.set_description(f"{label} · epoch {row['epoch']}" + (f"/{config.total_epochs}" if config.total_epochs else ""))
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", acc=f"{row['train_accuracy']:.3f}",
                        test=f"{row['curve_test_accuracy']:.3f}")
        if plot is not None:
            plot.update(history)

    try:
        history, partial = _fit(model, data, config, device, amp, hooks, schedule, called_at, on_step, on_epoch)
    finally:
        bar.close()
    _ready_to_analyse(model)
    accuracy = _final_accuracy(model, data, tta=config.tta, partial=partial, history=history)
    measures = hooks.final(model, data) if hooks.final is not None and not partial else {}
    result = TrainResult(name=name, test_accuracy=accuracy, history=history, params=0, macs=0,
                         wall_time_s=_clock() - called_at, device=device, seed=config.seed, key={},
                         measures=measures, partial=partial)
    note = _gap_note(accuracy, history, config.tta, curve_images, len(data.test_labels))
    if config.progress and not partial and note:
        print(note)
    return result


def _gap_note(final: float, history: list[dict], tta: bool, curve_images: int, test_images: int) -> str | None:
    """One line that explains why the final accuracy differs from the last point of the curve."""
    if not history or (not tta and curve_images == test_images):
        return None
    how = ("averaging each image's logits with its mirror image's (test-time augmentation)" if tta
           else "without averaging")
    return (f"Note: the final test accuracy {100 * final:.1f} % is measured on all {test_images:,} test images, {how}; "
            f"the curve's last point ({100 * history[-1]['curve_test_accuracy']:.1f} %) on the first "
            f"{curve_images:,} images without averaging.")


def _ready_to_analyse(model: nn.Module, result: TrainResult | None = None) -> TrainResult | None:
    """Leave ``model`` on the CPU, in float32, contiguous memory and eval mode (whether it was trained, on
    any device, or loaded): the state in which the notebooks inspect and time it. Returns ``result``."""
    model.to("cpu", dtype=torch.float32, memory_format=torch.contiguous_format).eval()
    return result


__all__ = ["train", "evaluate", "measure", "reset_parameters", "run_key", "training_code_key", "TrainConfig", "Hooks",
           "TrainResult", "TrainingDiverged", "StoredRunError", "DEFAULT_EPOCHS", "DEFAULT_LR", "CURVE_TEST_IMAGES",
           "MAX_STORED_LOSS", "COMMITTED_RESULTS_DIR", "LOCAL_RESULTS_DIR", "default_device", "one_cycle"]
