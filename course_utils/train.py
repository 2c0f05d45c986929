"""The notebooks' training engine: ``train(model, data, name=...)``.

- Recipe: SGD with Nesterov momentum, a one-cycle learning rate (linear warm-up then linear decay to 0),
  label smoothing, weight decay on the weights (not on BatchNorm or biases), random crop + flip run
  batched on the device, channels-last tensors, bfloat16 autocast where the hardware has it, and
  test-time averaging of the logits of each image and its mirror image.
- Cache: a finished run is stored as ``data/results/<name>.json`` (record + provenance) and
  ``<name>.pt`` (fp16 weights). Calling ``train`` again with the same configuration returns the stored
  record at once and loads the weights into ``model``; a different configuration retrains (and says
  why). ``retrain=True``, or the environment variable ``COURSE_RETRAIN=1``, always trains.
- Ctrl-C / "interrupt kernel" returns the partial record (``partial=True``, never cached).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import checks
from .cost import count
from .data import CIFAR10Data, normalize, random_crop_flip

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "data" / "results"

# The default recipe: the course baseline (standard block) on the bundled subset, 20 epochs in about
# 30 s on 2 CPU cores; with a 60 s budget instead it reaches 70 % (see benchmarks/README.md).
DEFAULT_EPOCHS = 20
DEFAULT_LR = 0.15
DEFAULT_BATCH_SIZE = 128
DEFAULT_WEIGHT_DECAY = 1e-3
DEFAULT_LABEL_SMOOTHING = 0.2
DEFAULT_WARMUP = 0.2          # fraction of training spent warming the learning rate up
MAX_WEIGHTS_BYTES = 1_500_000  # weights are cached (as float16) only below this size


@dataclass
class TrainResult:
    """What a training run produced. ``history`` holds one dict per epoch."""

    name: str | None
    test_accuracy: float                 # 0..1, with flip test-time augmentation if config["tta"]
    history: list[dict[str, float]]      # epoch, train_loss, train_accuracy, test_loss, test_accuracy, lr, seconds
    params: int
    macs: int                            # per 32×32 image
    wall_time_s: float
    device: str
    seed: int
    config: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    partial: bool = False
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        record.pop("cached")
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> TrainResult:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in fields})

    def __repr__(self) -> str:
        state = " (partial)" if self.partial else (" (cached)" if self.cached else "")
        return (f"TrainResult{state}(name={self.name!r}, test_accuracy={self.test_accuracy:.3f}, "
                f"epochs={len(self.history)}, params={self.params:,}, macs={self.macs:,}, "
                f"wall_time_s={self.wall_time_s:.1f}, device={self.device!r})")


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
def default_device() -> str:
    """'cuda' when a GPU is visible, else 'cpu'."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_has_fast_bf16() -> bool:
    """True when the CPU has native bfloat16 matrix units (AMX or AVX512-BF16; Linux only)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def has_grouped_conv(model: nn.Module) -> bool:
    """True when ``model`` holds a grouped (e.g. depthwise) convolution."""
    return any(isinstance(m, nn.Conv2d) and m.groups > 1 for m in model.modules())


def autocast_dtype(device: str, precision: str, model: nn.Module | None = None) -> torch.dtype | None:
    """bfloat16 autocast for 'bf16', none for 'fp32'. 'auto' = bf16 on CUDA, and on CPUs with bf16
    units unless ``model`` has grouped convolutions: their bf16 backward is slower than fp32 on CPU
    (depthwise-separable baseline: 70 vs 34 ms per step, ``benchmarks/train_step.py``)."""
    if precision == "fp32":
        return None
    if precision == "bf16" or device.startswith("cuda"):
        return torch.bfloat16
    grouped = model is not None and has_grouped_conv(model)
    if device == "cpu" and cpu_has_fast_bf16() and not grouped:
        return torch.bfloat16
    return None


def one_cycle(progress: float, warmup: float = DEFAULT_WARMUP) -> float:
    """Learning-rate factor at ``progress`` ∈ [0, 1]: p / w while warming up, then (1 − p) / (1 − w)."""
    if progress < warmup:
        return progress / warmup
    return max(0.0, (1 - progress) / (1 - warmup))


def final_eval_estimate(eval_seconds: float, train_seconds_per_image: float, test_images: int,
                        tta: bool) -> float:
    """Seconds to keep for the last evaluation under a time budget: the last measured evaluation
    (doubled for flip averaging), or before any, a forward pass ≈ half a training step per image."""
    passes = 2 if tta else 1
    if eval_seconds > 0:
        return (1 + passes) * eval_seconds + 0.2
    return (1 + passes) * 0.5 * train_seconds_per_image * test_images + 0.5


def reset_parameters(model: nn.Module, seed: int) -> None:
    """Fresh weights: ``torch.manual_seed(seed)``, then the model's own ``reset_parameters()`` if it
    has one (e.g. SqueezeNet's Kaiming initialisation), else that of every submodule which has one,
    so a run depends on the architecture and the seed only."""
    torch.manual_seed(seed)
    if callable(getattr(model, "reset_parameters", None)):
        model.reset_parameters()
        return
    for module in model.modules():
        if callable(getattr(module, "reset_parameters", None)):
            module.reset_parameters()


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def _git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        # results/ is what runs write, not code: a run after another run is not "dirty"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)data/results"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha + ("-dirty" if dirty else "")) if sha else "unknown"


def _command() -> str:
    """How this run was started, without machine-specific paths."""
    if "ipykernel" in sys.modules:
        command = "notebook cell"
    else:
        parts = []
        for arg in sys.argv:
            try:
                arg = str(Path(arg).resolve().relative_to(REPO_ROOT)) if Path(arg).exists() else arg
            except (ValueError, OSError):
                arg = Path(arg).name
            parts.append(arg)
        command = " ".join(["python"] + parts)
    prefix = os.environ.get("COURSE_COMMAND")
    return f"{prefix}: {command}" if prefix else command


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return path.name


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500,
             tta: bool = False, amp: torch.dtype | None = None) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on uint8 ``images``; with ``tta``, logits of x and its mirror are averaged."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total_loss, correct = 0.0, 0
    for start in range(0, len(labels), batch_size):
        x = normalize(images[start:start + batch_size].to(device)).contiguous(memory_format=torch.channels_last)
        y = labels[start:start + batch_size].to(device)
        with torch.autocast(device.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
            logits = model(x).float()
            if tta:
                logits = (logits + model(x.flip(3)).float()) / 2
        total_loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    model.train(was_training)
    return total_loss / len(labels), correct / len(labels)


# ---------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------
def _cache_paths(cache_dir: Path, name: str) -> tuple[Path, Path]:
    return cache_dir / f"{name}.json", cache_dir / f"{name}.pt"


def _save(result: TrainResult, model: nn.Module, cache_dir: Path, max_weights_bytes: int) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    json_path, pt_path = _cache_paths(cache_dir, result.name)
    state = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()}
    weight_bytes = sum(v.numel() * v.element_size() for v in state.values())
    if weight_bytes <= max_weights_bytes:
        torch.save(state, pt_path)
        result.provenance["weights"] = pt_path.name
    elif pt_path.exists():
        pt_path.unlink()
    json_path.write_text(json.dumps(result.to_dict(), indent=1) + "\n")


def _load_cached(model: nn.Module, config: dict[str, Any], cache_dir: Path, name: str,
                 on_mismatch: str) -> TrainResult | None:
    """The stored result if its configuration matches, else None (after saying why) or ValueError."""
    json_path, pt_path = _cache_paths(cache_dir, name)
    if not json_path.exists():
        return None
    record = json.loads(json_path.read_text())
    stored = record.get("config", {})
    if config_hash(stored) != config_hash(config):
        changed = sorted(k for k in set(stored) | set(config) if stored.get(k) != config.get(k))
        message = (f"the stored result {_display_path(json_path)} was trained with a different "
                   f"configuration ({', '.join(changed)} changed)")
        if on_mismatch == "raise":
            raise ValueError(f"{message}; pass retrain=True to replace it")
        print(f"Retraining: {message}.")
        return None
    result = TrainResult.from_dict(record)
    result.cached = True
    if pt_path.exists():
        state = torch.load(pt_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    prov = result.provenance
    print(f"Cached result from {_display_path(json_path)} (trained on {result.device}, "
          f"{prov.get('date', '?')[:10]}, commit {prov.get('commit', '?')}); retrain=True trains live.")
    return result


# ---------------------------------------------------------------------------------------------
# Live curve
# ---------------------------------------------------------------------------------------------
class _LivePlot:
    """Loss and accuracy curves, redrawn in place after every epoch (in a notebook)."""

    def __init__(self, title: str) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        self.fig, (self.ax_loss, self.ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
        self.title = title
        plt.close(self.fig)
        self.handle = display(self.fig, display_id=True)

    def update(self, history: list[dict[str, float]]) -> None:
        epochs = [h["epoch"] for h in history]
        for ax in (self.ax_loss, self.ax_acc):
            ax.clear()
        self.ax_loss.plot(epochs, [h["train_loss"] for h in history], label="train")
        self.ax_loss.plot(epochs, [h["test_loss"] for h in history], label="test")
        self.ax_acc.plot(epochs, [100 * h["train_accuracy"] for h in history], label="train")
        self.ax_acc.plot(epochs, [100 * h["test_accuracy"] for h in history], label="test")
        self.ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title=f"{self.title}: loss")
        self.ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{self.title}: accuracy")
        for ax in (self.ax_loss, self.ax_acc):
            ax.legend()
        self.fig.tight_layout()
        if self.handle is not None:
            self.handle.update(self.fig)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------
def _validate(model, data, name, epochs, budget_s, lr, batch_size, seed, device, precision, on_mismatch,
              step_hook, epoch_hook) -> None:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model={type(model).__name__} must be a torch.nn.Module instance")
    if not isinstance(data, CIFAR10Data):
        raise ValueError(f"data={type(data).__name__} must be a CIFAR10Data from course_utils.data.load_cifar10()")
    if name is not None and (not isinstance(name, str) or not name
                             or not all(c.isalnum() or c in "_-." for c in name)):
        raise ValueError(f"name={name!r} must be a non-empty string of letters, digits, '_', '-', '.'")
    if epochs is not None and budget_s is not None:
        raise ValueError(f"epochs={epochs} and budget_s={budget_s} are exclusive: give one of them")
    if epochs is not None:
        checks.positive_int("epochs", epochs)
    if budget_s is not None:
        checks.positive_number("budget_s", budget_s)
    checks.positive_number("lr", lr)
    checks.positive_int("batch_size", batch_size)
    checks.non_negative_int("seed", seed)
    if device is not None and not (isinstance(device, str) and (device == "cpu" or device.startswith("cuda"))):
        raise ValueError(f"device={device!r} must be None (automatic), 'cpu' or 'cuda[:N]'")
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision={precision!r} must be 'auto', 'fp32' or 'bf16'")
    if on_mismatch not in ("retrain", "raise"):
        raise ValueError(f"on_mismatch={on_mismatch!r} must be 'retrain' or 'raise'")
    for hook_name, hook in (("step_hook", step_hook), ("epoch_hook", epoch_hook)):
        if hook is not None and not callable(hook):
            raise ValueError(f"{hook_name}={hook!r} must be callable or None")


def train(model: nn.Module, data: CIFAR10Data, name: str | None = None, epochs: int | None = None,
          seed: int = 0, retrain: bool = False, device: str | None = None,
          step_hook: Callable[[nn.Module, int, int], None] | None = None,
          epoch_hook: Callable[[nn.Module, int], dict[str, float] | None] | None = None,
          live_plot: bool = False, budget_s: float | None = None, lr: float = DEFAULT_LR,
          batch_size: int = DEFAULT_BATCH_SIZE, weight_decay: float = DEFAULT_WEIGHT_DECAY,
          label_smoothing: float = DEFAULT_LABEL_SMOOTHING, tta: bool = True, precision: str = "auto",
          reset: bool = True, cache_dir: str | Path | None = None, on_mismatch: str = "retrain",
          progress: bool = True, max_weights_bytes: int = MAX_WEIGHTS_BYTES) -> TrainResult:
    """Train ``model`` on ``data`` for ``epochs`` (default ``DEFAULT_EPOCHS``) or ``budget_s`` seconds.

    With a ``name``, the finished run is cached in ``cache_dir`` (default ``data/results/``) under a key
    made of the architecture (``repr(model)``), the recipe (epochs, lr, batch size, ...), the seed and
    the data's identity; a matching cached run is returned at once with its weights loaded into
    ``model``. ``retrain=True`` (or ``COURSE_RETRAIN=1``) trains anyway; a stored run with another
    configuration is retrained (``on_mismatch="retrain"``) or refused (``on_mismatch="raise"``).

    ``step_hook(model, step, total_steps)`` runs before every optimiser step (``total_steps`` is an
    estimate under ``budget_s``); ``epoch_hook(model, epoch)`` may return extra metrics for ``history``.
    ``budget_s`` counts from this call: set-up, training and the final evaluation all fit in it.
    """
    called_at = time.perf_counter()
    _validate(model, data, name, epochs, budget_s, lr, batch_size, seed, device, precision, on_mismatch,
              step_hook, epoch_hook)
    checks.fraction("label_smoothing", label_smoothing)
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)) or weight_decay < 0:
        raise ValueError(f"weight_decay={weight_decay!r} must be a non-negative number")
    if epochs is None and budget_s is None:
        epochs = DEFAULT_EPOCHS
    device = device or default_device()
    cache_dir = Path(cache_dir) if cache_dir is not None else RESULTS_DIR

    config = {
        "name": name, "model": repr(model), "epochs": epochs, "budget_s": budget_s, "lr": lr,
        "batch_size": batch_size, "weight_decay": weight_decay, "label_smoothing": label_smoothing,
        "momentum": 0.9, "nesterov": True, "warmup": DEFAULT_WARMUP, "augment": "crop4+flip",
        "tta": tta, "reset": reset, "seed": seed, "data": data.identity,
    }
    retrain = retrain or os.environ.get("COURSE_RETRAIN", "") not in ("", "0")
    if name is not None and budget_s is None and not retrain:
        cached = _load_cached(model, config, cache_dir, name, on_mismatch)
        if cached is not None:
            return cached

    if reset:
        reset_parameters(model, seed)
    cost = count(model, (1, 3, 32, 32))
    model.to(device, memory_format=torch.channels_last)
    amp = autocast_dtype(device, precision, model)
    result = _fit(model, data, config, device, amp, step_hook, epoch_hook, live_plot, progress, called_at)
    result.params, result.macs = cost.params, cost.macs
    result.provenance = {
        "command": _command(), "device": _device_name(device),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": _git_commit(), "torch": torch.__version__, "precision": str(amp or torch.float32),
        "config_hash": config_hash(config), "data_source": data.source,
    }
    if result.partial:
        print(f"Interrupted after {len(result.history)} epoch(s): partial result, not cached.")
    elif name is not None and budget_s is None:
        _save(result, model, cache_dir, max_weights_bytes)
    return result


def _fit(model: nn.Module, data: CIFAR10Data, config: dict[str, Any], device: str, amp: torch.dtype | None,
         step_hook, epoch_hook, live_plot: bool, progress: bool, start: float) -> TrainResult:
    """The training loop proper (no caching): returns a full or, after Ctrl-C, partial record."""
    from tqdm.auto import tqdm

    seed, batch_size, budget_s = config["seed"], config["batch_size"], config["budget_s"]
    generator = torch.Generator().manual_seed(seed)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": config["weight_decay"]},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=config["lr"], momentum=config["momentum"], nesterov=True)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config["label_smoothing"])
    train_images = data.train_images.to(device)
    train_labels = data.train_labels.to(device)
    n = len(train_labels)
    steps_per_epoch = n // batch_size           # drop the last incomplete batch: BN needs real batches
    if steps_per_epoch < 1:
        raise ValueError(f"batch_size={batch_size} must not exceed the {n} training images")
    epochs = config["epochs"]
    total_steps = epochs * steps_per_epoch if epochs else None
    plot = _LivePlot(config["name"] or "training") if live_plot else None

    history: list[dict[str, float]] = []
    step, partial, final_acc, eval_seconds, step_seconds, step_start = 0, False, None, 0.0, 0.0, start
    bar = tqdm(total=total_steps, desc=config["name"] or "train", unit="step", disable=not progress,
               leave=True)
    model.train()
    try:
        epoch = 0
        while True:
            epoch += 1
            order = torch.randperm(n, generator=generator).to(device)
            augmented = random_crop_flip(train_images, generator)
            loss_sum, correct, seen, done = 0.0, 0, 0, False
            for i in range(steps_per_epoch):
                elapsed = time.perf_counter() - start
                if total_steps is not None:
                    progress_frac = step / total_steps
                else:   # budget: schedule by the clock, keeping time for the last evaluation
                    reserve = final_eval_estimate(eval_seconds, step_seconds / batch_size,
                                                  len(data.test_labels), config["tta"])
                    progress_frac = elapsed / max(budget_s - reserve, 1e-3)
                    if progress_frac >= 1:
                        done = True
                        break
                for group in optimizer.param_groups:
                    group["lr"] = config["lr"] * one_cycle(progress_frac, config["warmup"])
                idx = order[i * batch_size:(i + 1) * batch_size]
                x = normalize(augmented[idx]).contiguous(memory_format=torch.channels_last)
                y = train_labels[idx]
                with torch.autocast(torch.device(device).type, dtype=amp or torch.bfloat16, enabled=amp is not None):
                    logits = model(x)
                    loss = loss_fn(logits.float(), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if step_hook is not None:
                    estimate = total_steps or max(step + 1, round(step * budget_s / max(elapsed, 1e-3)))
                    step_hook(model, step, estimate)
                optimizer.step()
                step += 1
                now = time.perf_counter()
                step_seconds, step_start = (now - step_start if step > 1 else step_seconds), now
                loss_sum += loss.item() * len(y)
                correct += (logits.argmax(1) == y).sum().item()
                seen += len(y)
                bar.update(1)
                if i % 5 == 0:
                    bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}", refresh=False)
            last = done or (epochs is not None and epoch >= epochs)
            if seen:
                eval_start = time.perf_counter()
                test_loss, test_acc = evaluate(model, data.test_images, data.test_labels, amp=amp)
                if last and config["tta"]:
                    final_acc = evaluate(model, data.test_images, data.test_labels, amp=amp, tta=True)[1]
                eval_seconds = time.perf_counter() - eval_start
                step_start += eval_seconds
                row = {"epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
                       "test_loss": test_loss, "test_accuracy": test_acc,
                       "lr": optimizer.param_groups[0]["lr"], "seconds": time.perf_counter() - start}
                if epoch_hook is not None:
                    row.update(epoch_hook(model, epoch) or {})
                history.append(row)
                bar.set_postfix(loss=f"{row['train_loss']:.3f}", acc=f"{row['train_accuracy']:.3f}",
                                test=f"{test_acc:.3f}")
                if plot is not None:
                    plot.update(history)
            if last:
                break
    except KeyboardInterrupt:
        partial = True
    finally:
        bar.close()
    wall = time.perf_counter() - start
    if partial:
        try:
            final_acc = evaluate(model, data.test_images, data.test_labels, amp=amp)[1]
        except KeyboardInterrupt:
            final_acc = history[-1]["test_accuracy"] if history else float("nan")
    elif final_acc is None:
        final_acc = history[-1]["test_accuracy"] if history else float("nan")
    model.eval()
    return TrainResult(name=config["name"], test_accuracy=final_acc, history=history, params=0, macs=0,
                       wall_time_s=wall, device=device, seed=seed, config=config, partial=partial)


__all__ = ["train", "TrainResult", "evaluate", "DEFAULT_EPOCHS", "default_device", "one_cycle",
           "reset_parameters", "RESULTS_DIR"]
