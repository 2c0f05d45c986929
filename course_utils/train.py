"""The notebooks' training engine: ``train(model, data, name=...)``.

- Recipe: SGD with Nesterov momentum, a one-cycle learning rate (linear warm-up then linear decay to 0),
  label smoothing, weight decay on the weights (not on BatchNorm or biases), random crop + flip run
  batched on the device, channels-last tensors, bfloat16 autocast where the hardware has it
  (``course_utils.precision``; ``COURSE_PRECISION`` forces a path), and test-time averaging of the logits
  of each image and its mirror image.
- Curves and final number, always measured in float32 (``evaluate``): after every epoch the loss and
  accuracy on the first ``CURVE_TEST_IMAGES`` test images (``curve_test_*`` in ``history``); at the end the
  final ``test_accuracy``, once, on the whole test set with flip averaging, of the model as returned (on
  the CPU): exactly what ``evaluate(model, ..., tta=True)`` gives for it afterwards.
- Stored runs (``course_utils.runs``): a named run is stored and, called again with the same model code,
  recipe, seed and data, returned at once with its weights loaded. Runs trained from a notebook go to the
  git-ignored ``data/local-results/``; ``data/results/`` (``RESULTS_DIR``) holds the committed runs and is
  written only under ``COURSE_RESULTS=committed`` or with an explicit ``cache_dir``.
- Ctrl-C / "interrupt kernel" returns the partial record (``partial=True``, never stored); a loss that
  becomes NaN or infinite stops training with ``TrainingDiverged`` (never stored).
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from numbers import Real
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import checks
from .cost import count
from .data import CIFAR10Data, normalize, random_crop_flip
from .precision import autocast_dtype, resolve_precision
from .provenance import provenance
from .runs import (COMMITTED_RESULTS_DIR, LOCAL_RESULTS_DIR, StoredRunError, TrainResult, code_fingerprints,
                   config_hash, describe_mismatch, display_path, json_path, mark_loaded_without_weights,
                   read_record, read_stores, read_weights, refuse_untrained_load, retrain_requested,
                   retrain_switch, save_run, weights_bytes, weights_fingerprint, write_store)

RESULTS_DIR = COMMITTED_RESULTS_DIR   # the committed runs (data/results/), e.g. notebook 07's gpu_*.json

# The default recipe: the course baseline (standard block) on the bundled subset, 20 epochs in about
# 30 s on 2 CPU cores; with a 60 s budget instead it reaches 70 % (see benchmarks/README.md).
DEFAULT_EPOCHS = 20
DEFAULT_LR = 0.15
DEFAULT_BATCH_SIZE = 128
DEFAULT_WEIGHT_DECAY = 1e-3
DEFAULT_LABEL_SMOOTHING = 0.2
DEFAULT_WARMUP = 0.2          # fraction of training spent warming the learning rate up
CURVE_TEST_IMAGES = 1000      # per-epoch curves use the first 1,000 test images; the final number all of them
# Weights are stored as float16 up to this size: every course model fits (the largest, notebook 06's
# SAL ResNet-20 at width 1, is 1.1 MB). A larger run is stored without weights (see course_utils.runs).
MAX_WEIGHTS_BYTES = 4_000_000

_clock = time.perf_counter    # the training clock; tests replace it with a fake one


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite: the run is stopped and never stored."""


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


def final_eval_estimate(eval_seconds_per_image: float, train_seconds_per_image: float, images: int) -> float:
    """Seconds to keep under a time budget for the evaluations still to come (``images`` forward passes):
    the measured time per image, or before any evaluation, half a training step per image."""
    if eval_seconds_per_image > 0:
        return eval_seconds_per_image * images + 0.2
    return 0.5 * train_seconds_per_image * images + 0.5


def reset_parameters(model: nn.Module, seed: int) -> None:
    """Fresh weights: ``torch.manual_seed(seed)``, then the model's own ``reset_parameters()`` if it
    has one (e.g. SqueezeNet's Kaiming initialisation), else that of every submodule which has one; and
    every BatchNorm's running mean, variance and batch count back to their initial values. So a run
    depends on the architecture and the seed only, whether the model object is new or reused (the model
    is first moved back to the CPU in the default memory layout, where a new model is initialised: the
    random numbers drawn depend on both)."""
    checks.non_negative_int("seed", seed)
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


def _flag(name: str, value: object) -> bool:
    """Return ``value`` if it is True or False, else raise ``ValueError`` ("no", 1 and None are refused)."""
    if value is not True and value is not False:
        hint = " (a toggle button? pass its .value)" if hasattr(value, "value") else ""
        raise ValueError(f"{name}={value!r} must be True or False{hint}")
    return value


def _finite_positive(name: str, value: object) -> float:
    """Return ``value`` if it is a finite real number > 0, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a finite positive number")
    return value


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
    refuse_untrained_load(model)
    low = sorted({str(p.dtype) for p in model.parameters() if p.is_floating_point() and p.dtype != torch.float32})
    if low:
        raise ValueError(f"model has {', '.join(low)} parameters: evaluate() measures in float32, "
                         "so call model.float() first")
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


# ---------------------------------------------------------------------------------------------
# Live view
# ---------------------------------------------------------------------------------------------
def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where a display handle can update a figure in place)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class _LiveCurves:
    """One figure, loss and accuracy against epoch, redrawn in place after every epoch through an
    IPython display handle; the committed run of the same name, if any, is drawn dashed for reference."""

    def __init__(self, title: str, epochs: int | None, curve_images: int, reference: list[dict] | None) -> None:
        from IPython.display import display
        from matplotlib.figure import Figure

        self.title, self.epochs, self.reference = title, epochs, reference or []
        self.test_label = f"test (first {curve_images:,} images)"
        self.figure = Figure(figsize=(10, 3.6), layout="constrained")
        self.ax_loss, self.ax_acc = self.figure.subplots(1, 2)
        self.handle = display(self._image(), display_id=True)

    def _image(self) -> Any:
        import io

        from IPython.display import Image

        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=80)
        return Image(data=buffer.getvalue(), format="png")

    def update(self, history: list[dict[str, float]]) -> None:
        from matplotlib.ticker import MaxNLocator

        for ax in (self.ax_loss, self.ax_acc):
            ax.clear()
        for rows, style, train_label, test_label in (
                (self.reference, "--", "train (committed run)", "test (committed run)"),
                (history, "-", "train", self.test_label)):
            if not rows:
                continue
            epochs = [r["epoch"] for r in rows]
            test_acc = [100 * r.get("curve_test_accuracy", r.get("test_accuracy", math.nan)) for r in rows]
            self.ax_loss.plot(epochs, [r["train_loss"] for r in rows], style, color="tab:blue", label=train_label)
            self.ax_acc.plot(epochs, [100 * r["train_accuracy"] for r in rows], style, color="tab:blue",
                             label=train_label)
            self.ax_acc.plot(epochs, test_acc, style, color="tab:orange", label=test_label)
        self.ax_loss.set(xlabel="epoch", ylabel="training loss", title=f"{self.title}: loss")
        self.ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{self.title}: accuracy", ylim=(0, 100))
        last = self.epochs or max((r["epoch"] for r in history), default=1)
        for ax in (self.ax_loss, self.ax_acc):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlim(0.5, max(last, 1) + 0.5)
            ax.legend(fontsize="small")
        self.handle.update(self._image())


def _committed_history(name: str | None) -> list[dict] | None:
    """The per-epoch history of the committed run ``name`` (any configuration), or None."""
    if name is None:
        return None
    try:
        record = read_record(COMMITTED_RESULTS_DIR, name)
    except StoredRunError:
        return None
    return record.get("history") if record else None


def _gap_note(final: float, history: list[dict], tta: bool, curve_images: int, test_images: int) -> str | None:
    """One line that explains why the final accuracy differs from the last point of the curve."""
    if not history or (not tta and curve_images == test_images):
        return None
    how = ("averaging each image's logits with its mirror image's (test-time augmentation)" if tta
           else "without averaging")
    return (f"Note: the final test accuracy {100 * final:.1f} % is measured on all {test_images:,} test images, {how}; "
            f"the curve's last point ({100 * history[-1]['curve_test_accuracy']:.1f} %) on the first "
            f"{curve_images:,} images without averaging.")


# ---------------------------------------------------------------------------------------------
# Stored runs
# ---------------------------------------------------------------------------------------------
def _store_label(folder: Path) -> str:
    if folder == LOCAL_RESULTS_DIR:
        return "your local store of live runs"
    if folder == COMMITTED_RESULTS_DIR:
        return "the committed results"
    return "cache_dir"


def _load_stored(model: nn.Module, config: dict[str, Any], stores: list[Path], name: str, on_mismatch: str,
                 weights_needed: bool) -> TrainResult | None:
    """The first stored run (in ``stores`` order) with this configuration and intact weights, loaded into
    ``model``; else None after one line saying why (or ValueError with ``on_mismatch="raise"``)."""
    reasons = []
    for folder in stores:
        record = read_record(folder, name)
        if record is None:
            continue
        path = json_path(folder, name)
        if config_hash(record["config"]) != config_hash(config):
            reasons.append((path, describe_mismatch(record["config"], config)))
            continue
        state, why = read_weights(folder, record)
        if state is None and (weights_needed or record.get("weights") is not None):
            reasons.append((path, why))
            continue
        if state is not None:
            try:
                model.load_state_dict(state)
            except RuntimeError as error:
                raise StoredRunError(f"the weights of {display_path(path)} do not fit the model ({error}): "
                                     "delete it or pass retrain=True") from None
        else:
            mark_loaded_without_weights(model, path)
        result = TrainResult.from_dict(record)
        result.cached, result.store = True, display_path(folder)
        prov = result.provenance
        weights = "" if state is not None else "; no weights stored, the model keeps its initial weights"
        print(f"Cached result from {display_path(path)} ({_store_label(folder)}: trained on {result.device}, "
              f"{str(prov.get('date', '?'))[:10]}, commit {prov.get('commit', '?')}{weights}); "
              "retrain=True trains live.")
        return result
    if not reasons:
        return None
    path, reason = reasons[0]
    if on_mismatch == "raise":
        raise ValueError(f"The stored run {display_path(path)} is not this run: {reason}. "
                         "Pass retrain=True to train and replace it, or delete the file.")
    print(f"Retraining {name}: {reason} ({display_path(path)}).")
    return None


def _save(result: TrainResult, model: nn.Module, folder: Path, max_weights_bytes: int) -> None:
    """Store the finished run; if that fails (read-only folder, Ctrl-C, not a folder...) say so in one
    line and keep going: the caller still gets its result."""
    try:
        path = save_run(result, model, folder, max_weights_bytes=max_weights_bytes)
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001  (the run itself is finished and returned)
        print(f"Warning: the run is finished but could not be stored in {display_path(folder)} "
              f"({type(error).__name__}: {error}); the result is returned, not stored.")
        return
    result.store = display_path(folder)
    note = " (git-ignored; data/results/ is unchanged)" if folder == LOCAL_RESULTS_DIR else ""
    print(f"Stored {result.name} in {display_path(path)}{note}.")


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------
def _validate(model, data, name, epochs, budget_s, lr, batch_size, seed, weight_decay, label_smoothing,
              device, precision, on_mismatch, step_hook, epoch_hook, cache_dir, max_weights_bytes,
              flags: dict[str, object]) -> None:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model={type(model).__name__} must be a torch.nn.Module instance")
    if not isinstance(data, CIFAR10Data):
        raise ValueError(f"data={type(data).__name__} must be a CIFAR10Data from course_utils.data.load_cifar10()")
    if name is not None and (not isinstance(name, str) or not name or name.startswith(".")
                             or not all(c.isalnum() or c in "_-." for c in name)):
        raise ValueError(f"name={name!r} must be a non-empty string of letters, digits, '_', '-', '.' "
                         "(not starting with '.')")
    if epochs is not None and budget_s is not None:
        raise ValueError(f"epochs={epochs} and budget_s={budget_s} are exclusive: give one of them")
    if epochs is not None:
        checks.positive_int("epochs", epochs)
    if budget_s is not None:
        _finite_positive("budget_s", budget_s)
    _finite_positive("lr", lr)
    checks.positive_int("batch_size", batch_size)
    checks.non_negative_int("seed", seed)
    if (isinstance(weight_decay, bool) or not isinstance(weight_decay, Real) or not math.isfinite(weight_decay)
            or weight_decay < 0):
        raise ValueError(f"weight_decay={weight_decay!r} must be a finite non-negative number")
    checks.fraction("label_smoothing", label_smoothing)
    for flag_name, value in flags.items():
        _flag(flag_name, value)
    if device is not None and not (isinstance(device, str) and (device == "cpu" or device.startswith("cuda"))):
        raise ValueError(f"device={device!r} must be None (automatic), 'cpu' or 'cuda[:N]'")
    resolve_precision(precision)
    if on_mismatch not in ("retrain", "raise"):
        raise ValueError(f"on_mismatch={on_mismatch!r} must be 'retrain' or 'raise'")
    for hook_name, hook in (("step_hook", step_hook), ("epoch_hook", epoch_hook)):
        if hook is not None and not callable(hook):
            raise ValueError(f"{hook_name}={hook!r} must be callable or None")
    if cache_dir is not None and not isinstance(cache_dir, (str, Path)):
        raise ValueError(f"cache_dir={cache_dir!r} must be None (the default stores) or a folder path")
    checks.non_negative_int("max_weights_bytes", max_weights_bytes)


def train(model: nn.Module, data: CIFAR10Data, name: str | None = None, epochs: int | None = None, *,
          seed: int = 0, retrain: bool = False, live_plot: bool = False, budget_s: float | None = None,
          lr: float = DEFAULT_LR, batch_size: int = DEFAULT_BATCH_SIZE, weight_decay: float = DEFAULT_WEIGHT_DECAY,
          label_smoothing: float = DEFAULT_LABEL_SMOOTHING, tta: bool = True,
          step_hook: Callable[[nn.Module, int, int], None] | None = None,
          epoch_hook: Callable[[nn.Module, int], dict[str, float] | None] | None = None,
          device: str | None = None, precision: str | None = None, reset: bool = True,
          cache_dir: str | Path | None = None, on_mismatch: str = "retrain", progress: bool = True,
          max_weights_bytes: int = MAX_WEIGHTS_BYTES) -> TrainResult:
    """Train ``model`` on ``data`` for ``epochs`` (default ``DEFAULT_EPOCHS``) or ``budget_s`` seconds.

    With a ``name``, a fixed-epoch run is stored (see ``course_utils.runs``), and a stored run with the
    same key (architecture, code of every module class and hook, recipe, seed, data, and with
    ``reset=False`` the starting weights) is returned at once with its weights loaded into ``model``.
    Where from and where to:

    - ``cache_dir=None`` (notebooks): looks in ``data/results/`` (the committed runs) and then in
      ``data/local-results/`` (your live runs); saves to ``data/local-results/``, or to ``data/results/``
      when the environment variable ``COURSE_RESULTS=committed`` is set (``make notebooks``, sweeps).
    - ``cache_dir=folder``: looks in and saves to that folder only.

    On return, trained or loaded, ``model`` is on the CPU in float32 and eval mode, ready to inspect and time.
    A trained run's final ``test_accuracy`` is measured on that returned model: it is exactly
    ``evaluate(model, data.test_images, data.test_labels, tta=tta)[1]`` on this machine, whatever the
    precision or device the training used (``evaluate`` is always float32).

    ``precision``: 'fp32', 'bf16' (bfloat16 autocast) or 'auto'; None (the default) takes the environment
    variable ``COURSE_PRECISION``, else 'auto' (see ``course_utils.precision``).

    ``retrain=True`` (or ``COURSE_RETRAIN=1``) trains anyway. A stored run that does not match is
    retrained with one line saying why (``on_mismatch="retrain"``) or refused (``on_mismatch="raise"``).
    If storing fails, the finished result is returned all the same, with a warning.

    ``live_plot=True`` draws loss and accuracy per epoch in one figure updated in place (in a notebook;
    elsewhere it shows nothing), with the committed run of the same name dashed for reference.
    ``step_hook(model, step, total_steps)`` runs before every optimiser step (``total_steps`` is an
    estimate under ``budget_s``); ``epoch_hook(model, epoch)`` may return extra metrics for ``history``.
    ``budget_s`` counts from this call: set-up, training and the final evaluation all fit in it (budget
    runs are never stored). A NaN or infinite loss raises ``TrainingDiverged``.
    """
    called_at = _clock()
    _validate(model, data, name, epochs, budget_s, lr, batch_size, seed, weight_decay, label_smoothing, device,
              precision, on_mismatch, step_hook, epoch_hook, cache_dir, max_weights_bytes,
              {"retrain": retrain, "live_plot": live_plot, "tta": tta, "reset": reset, "progress": progress})
    if epochs is None and budget_s is None:
        epochs = DEFAULT_EPOCHS
    device = device or default_device()
    precision = resolve_precision(precision)
    retrain = retrain or retrain_requested()
    save_folder = Path(cache_dir) if cache_dir is not None else write_store()
    stores = [Path(cache_dir)] if cache_dir is not None else read_stores()
    curve_images = min(CURVE_TEST_IMAGES, len(data.test_labels))

    config = {
        "name": name, "model": repr(model), "code": code_fingerprints(model, {"step_hook": step_hook,
                                                                          "epoch_hook": epoch_hook}),
        "epochs": epochs, "budget_s": budget_s, "lr": lr, "batch_size": batch_size, "weight_decay": weight_decay,
        "label_smoothing": label_smoothing, "momentum": 0.9, "nesterov": True, "warmup": DEFAULT_WARMUP,
        "augment": "crop4+flip", "tta": tta, "reset": reset, "seed": seed, "data": data.identity,
        "curve_test_images": curve_images,
        "initial_weights": None if reset else weights_fingerprint(model),
    }
    if name is not None and budget_s is None and not retrain:
        weights_needed = weights_bytes(model) <= max_weights_bytes
        cached = _load_stored(model, config, stores, name, on_mismatch, weights_needed)
        if cached is not None:
            return _ready_to_analyse(model, cached)

    if reset:
        reset_parameters(model, seed)
    cost = count(model, (1, 3, 32, 32))
    model.to(device, memory_format=torch.channels_last)
    amp = autocast_dtype(device, precision, model)
    plot = None
    if live_plot and _in_notebook():
        plot = _LiveCurves(name or "training", epochs, curve_images, _committed_history(name))
    result = _fit(model, data, config, device, amp, step_hook, epoch_hook, plot, progress, called_at)
    _ready_to_analyse(model, result)
    result.test_accuracy = _final_accuracy(model, data, tta=tta, partial=result.partial, history=result.history)
    result.wall_time_s = _clock() - called_at
    result.params, result.macs = cost.params, cost.macs
    result.provenance = provenance(device) | {"precision": str(amp or torch.float32),
                                              "config_hash": config_hash(config), "data_source": data.source}
    if result.partial:
        print(f"Interrupted after {len(result.history)} epoch(s): partial result, not stored.")
        return _ready_to_analyse(model, result)
    if progress:
        note = _gap_note(result.test_accuracy, result.history, tta, curve_images, len(data.test_labels))
        if note:
            print(note)
    if name is not None and budget_s is None:
        _save(result, model, save_folder, max_weights_bytes)
    return _ready_to_analyse(model, result)


def _ready_to_analyse(model: nn.Module, result: TrainResult) -> TrainResult:
    """Leave ``model`` on the CPU, in float32, contiguous memory and eval mode (whether it was trained, on
    any device, or loaded): the state in which the notebooks inspect and time it. Returns ``result``."""
    model.to("cpu", dtype=torch.float32, memory_format=torch.contiguous_format).eval()
    return result


def _fit(model: nn.Module, data: CIFAR10Data, config: dict[str, Any], device: str, amp: torch.dtype | None,
         step_hook, epoch_hook, plot: _LiveCurves | None, progress: bool, start: float) -> TrainResult:
    """The training loop proper (no storing): returns a full or, after Ctrl-C, partial record."""
    from tqdm.auto import tqdm

    seed, batch_size, budget_s, tta = config["seed"], config["batch_size"], config["budget_s"], config["tta"]
    generator = torch.Generator().manual_seed(seed)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": config["weight_decay"]},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=config["lr"], momentum=config["momentum"], nesterov=True)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config["label_smoothing"])
    train_images = data.train_images.to(device)
    train_labels = data.train_labels.to(device)
    curve_images = config["curve_test_images"]
    curve_x, curve_y = data.test_images[:curve_images], data.test_labels[:curve_images]
    test_images = len(data.test_labels)
    final_passes = test_images * (2 if tta else 1)
    n = len(train_labels)
    steps_per_epoch = n // batch_size           # drop the last incomplete batch: BN needs real batches
    if steps_per_epoch < 1:
        raise ValueError(f"batch_size={batch_size} must not exceed the {n} training images")
    epochs = config["epochs"]
    total_steps = epochs * steps_per_epoch if epochs else None
    label = config["name"] or "train"

    history: list[dict[str, float]] = []
    step, partial, eval_per_image, step_seconds, step_start = 0, False, 0.0, 0.0, start
    final_per_image = 0.0   # the final evaluation runs on the CPU: on another device it is timed separately
    bar = tqdm(total=total_steps, desc=label, unit="step", disable=not progress, leave=True)
    model.train()
    try:
        epoch = 0
        while True:
            epoch += 1
            bar.set_description(f"{label} · epoch {epoch}/{epochs}" if epochs else f"{label} · epoch {epoch}")
            order = torch.randperm(n, generator=generator).to(device)
            augmented = random_crop_flip(train_images, generator)
            loss_sum, correct, seen, done = 0.0, 0, 0, False
            for i in range(steps_per_epoch):
                elapsed = _clock() - start
                if total_steps is not None:
                    progress_frac = step / total_steps
                else:   # budget: schedule by the clock, keeping time for the evaluations still to come
                    train_per_image = step_seconds / batch_size
                    reserve = (final_eval_estimate(eval_per_image, train_per_image, curve_images)
                               + final_eval_estimate(final_per_image, train_per_image, final_passes))
                    progress_frac = elapsed / max(budget_s - reserve, 1e-3)
                    if progress_frac >= 1:
                        if step == 0:
                            raise ValueError(f"budget_s={budget_s} is too small for one training step and the "
                                             f"final evaluation (about {reserve:.1f} s on {device})")
                        done = True
                        break
                lr = config["lr"] * one_cycle(progress_frac, config["warmup"])
                for group in optimizer.param_groups:
                    group["lr"] = lr
                idx = order[i * batch_size:(i + 1) * batch_size]
                x = normalize(augmented[idx]).contiguous(memory_format=torch.channels_last)
                y = train_labels[idx]
                with torch.autocast(torch.device(device).type, dtype=amp or torch.bfloat16, enabled=amp is not None):
                    logits = model(x)
                    loss = loss_fn(logits.float(), y)
                loss_value = loss.item()
                if not math.isfinite(loss_value):
                    raise TrainingDiverged(
                        f"Training diverged: the loss is {loss_value} at epoch {epoch}, step {step + 1} "
                        f"(learning rate {lr:.4g}, peak lr={config['lr']}). Try a smaller lr; nothing was stored.")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if step_hook is not None:
                    estimate = total_steps or max(step + 1, round(step * budget_s / max(elapsed, 1e-3)))
                    step_hook(model, step, estimate)
                optimizer.step()
                step += 1
                now = _clock()
                step_seconds, step_start = (now - step_start if step > 1 else step_seconds), now
                loss_sum += loss_value * len(y)
                correct += (logits.argmax(1) == y).sum().item()
                seen += len(y)
                bar.update(1)
                if i % 5 == 0:
                    bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}", refresh=False)
            last = done or (epochs is not None and epoch >= epochs)
            if seen:
                eval_start = _clock()
                curve_loss, curve_acc = evaluate(model, curve_x, curve_y)
                eval_seconds = _clock() - eval_start
                eval_per_image = eval_seconds / curve_images
                if budget_s is not None and not final_per_image:
                    final_per_image = (eval_per_image if device == "cpu"
                                       else _cpu_seconds_per_image(model, curve_x[:64]))
                step_start += _clock() - eval_start
                row = {"epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
                       "curve_test_loss": curve_loss, "curve_test_accuracy": curve_acc,
                       "lr": optimizer.param_groups[0]["lr"], "seconds": _clock() - start}
                if epoch_hook is not None:
                    row.update(epoch_hook(model, epoch) or {})
                history.append(row)
                bar.set_postfix(loss=f"{row['train_loss']:.3f}", acc=f"{row['train_accuracy']:.3f}",
                                test=f"{curve_acc:.3f}")
                if plot is not None:
                    plot.update(history)
            if last:
                break
    except KeyboardInterrupt:
        partial = True
    finally:
        bar.close()
    model.eval()
    return TrainResult(name=config["name"], test_accuracy=math.nan, history=history, params=0, macs=0,
                       wall_time_s=_clock() - start, device=device, seed=seed, config=config, partial=partial)


def _cpu_seconds_per_image(model: nn.Module, images: torch.Tensor) -> float:
    """Seconds per image of ``evaluate`` on a CPU float32 copy of ``model``, timed on ``images``: the setting
    of the final evaluation, whose time a run on a GPU keeps under its budget."""
    cpu_copy = copy.deepcopy(model).to("cpu", dtype=torch.float32, memory_format=torch.contiguous_format)
    started = _clock()
    evaluate(cpu_copy, images, torch.zeros(len(images), dtype=torch.long))
    return (_clock() - started) / len(images)


def _final_accuracy(model: nn.Module, data: CIFAR10Data, *, tta: bool, partial: bool,
                    history: list[dict[str, float]]) -> float:
    """The run's ``test_accuracy``: ``evaluate`` on the whole test set of the model as ``train`` returns it
    (CPU, float32). An interrupted run is measured without flip averaging; interrupted again, it falls back
    to the last point of its curve."""
    if not partial:
        return evaluate(model, data.test_images, data.test_labels, tta=tta)[1]
    try:
        return evaluate(model, data.test_images, data.test_labels)[1]
    except KeyboardInterrupt:
        return history[-1]["curve_test_accuracy"] if history else math.nan


__all__ = ["train", "evaluate", "reset_parameters", "TrainResult", "TrainingDiverged", "StoredRunError",
           "retrain_switch", "retrain_requested", "DEFAULT_EPOCHS", "CURVE_TEST_IMAGES", "RESULTS_DIR",
           "COMMITTED_RESULTS_DIR", "LOCAL_RESULTS_DIR", "default_device", "one_cycle"]
