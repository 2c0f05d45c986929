"""The runs store: what a training run produced (``TrainResult``), where runs are kept, and how a stored run
is found again, by its key, without training.

- **Key.** ``course_utils.training.run_key``: the architecture, the code of every class in the model and of its
  hooks, the training code, the recipe (precision included), the seed, the data's digest and, for a run that
  starts from given weights, those weights. A run is returned only when the whole key is equal; otherwise
  one line (or the error) says what changed. The device, the thread count and the git commit are provenance.
- **Files.** A run named ``NAME`` is ``NAME.json`` (record, key, provenance) and ``NAME.<sha>.pt`` (fp16
  weights, named by the start of their sha256, which the JSON records in full). Both are written to a
  temporary file in the same folder and moved into place with ``os.replace``: weights first, then the JSON
  that names them, so a reader sees an old pair or a new pair, never half of one. Weights are returned only
  if their file matches the recorded sha256. A record is checked field by field when read.
- **Without weights.** ``Store(weights=False)`` (the lab's seeded runs: the record is what the notebooks
  plot) or a model over ``MAX_WEIGHTS_BYTES`` stores the record only; a model given such a run keeps its
  initial weights, and ``course_utils.training.evaluate`` refuses to measure it.
- **Two stores.** ``COMMITTED_RESULTS_DIR`` (``data/results/``, in git) holds the runs the notebooks show,
  made by the scripts in ``benchmarks/``. A live run is saved to ``LOCAL_RESULTS_DIR``
  (``data/local-results/``, git-ignored) unless ``COURSE_RESULTS=committed`` (the scripts). ``train`` looks in
  the committed store first, then the local one; :func:`load` reads one run and never trains.
- **Environment** (``course_utils.switches``). ``COURSE_RETRAIN`` (yes/no; default no) makes every ``train``
  call train live; ``COURSE_RESULTS`` is ``local`` (default) or ``committed``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import math
import os
import re
import tempfile
import weakref
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import switches
from .provenance import REPO_ROOT

COMMITTED_RESULTS_DIR = REPO_ROOT / "data" / "results"
LOCAL_RESULTS_DIR = REPO_ROOT / "data" / "local-results"
# Weights are stored as float16 up to this size: every course model fits (the largest, notebook 06's SAL
# ResNet-20 at width 1, is 1.1 MB). A larger model is stored without weights.
MAX_WEIGHTS_BYTES = 4_000_000

class StoredRunError(ValueError):
    """A stored run's file exists but cannot be used (truncated, corrupt, a field missing...)."""


class MissingRunError(FileNotFoundError):
    """A run that is read, not trained, is not stored or no longer matches its key: the message says which
    command makes it."""


@dataclass
class TrainResult:
    """What a training run produced. ``history`` holds one dict per epoch: epoch, train_loss, train_accuracy,
    curve_test_loss and curve_test_accuracy (on the first ``key["recipe"]["curve_test_images"]`` test images,
    no flip averaging), lr, seconds, plus what an epoch hook adds. ``test_accuracy`` is measured once at the
    end on the whole test set (with flip averaging when ``key["recipe"]["tta"]``)."""

    name: str | None
    test_accuracy: float
    history: list[dict[str, float]]
    params: int
    macs: int                            # per 32×32 image
    wall_time_s: float
    device: str
    seed: int
    key: dict[str, Any]
    measures: dict[str, float] = field(default_factory=dict)   # what the final hook measured
    provenance: dict[str, Any] = field(default_factory=dict)
    partial: bool = False
    cached: bool = False
    store: str | None = None             # the folder it was loaded from or saved to (not stored)

    def to_dict(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        record.pop("cached")
        record.pop("store")
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> TrainResult:
        """The result of a record that :func:`read_record` checked."""
        fields = {f.name for f in dataclasses.fields(cls)} - {"cached", "store"}
        return cls(**{k: v for k, v in record.items() if k in fields})

    def __repr__(self) -> str:
        state = " (partial)" if self.partial else (" (cached)" if self.cached else "")
        return (f"TrainResult{state}(name={self.name!r}, test_accuracy={self.test_accuracy:.3f}, "
                f"epochs={len(self.history)}, params={self.params:,}, macs={self.macs:,}, "
                f"wall_time_s={self.wall_time_s:.1f}, device={self.device!r})")


# ---------------------------------------------------------------------------------------------
# Where runs are kept
# ---------------------------------------------------------------------------------------------
def retrain_requested() -> bool:
    """True when the environment variable ``COURSE_RETRAIN`` (yes/no, ``course_utils.switches``) asks every
    ``train`` call to train live."""
    return switches.flag("COURSE_RETRAIN", default=False)


def write_store() -> Path:
    """The folder a run trained without an explicit store folder is saved to: ``LOCAL_RESULTS_DIR``,
    or ``COMMITTED_RESULTS_DIR`` when ``COURSE_RESULTS=committed`` (the scripts that make committed runs)."""
    chosen = switches.choice("COURSE_RESULTS", ("local", "committed"), default="local")
    return COMMITTED_RESULTS_DIR if chosen == "committed" else LOCAL_RESULTS_DIR


@dataclass(frozen=True)
class Store:
    """Where ``train`` looks for and saves a named run. ``folder=None``: look in ``data/results/`` then
    ``data/local-results/``, save to the latter (or the former under ``COURSE_RESULTS=committed``); a folder:
    look in and save to it only. ``weights=False`` stores the record only."""

    folder: str | Path | None = None
    weights: bool = True

    def __post_init__(self) -> None:
        if self.folder is not None and not isinstance(self.folder, (str, os.PathLike)):
            raise ValueError(f"folder={self.folder!r} must be None (the default stores) or a folder path")
        if not isinstance(self.weights, bool):
            raise ValueError(f"weights={self.weights!r} must be True or False")

    def read_folders(self) -> list[Path]:
        return [Path(self.folder)] if self.folder is not None else [COMMITTED_RESULTS_DIR, LOCAL_RESULTS_DIR]

    def write_folder(self) -> Path:
        return Path(self.folder) if self.folder is not None else write_store()


def display_path(path: Path) -> str:
    """``path`` relative to the repository when inside it, else as given (no machine paths in messages)."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _store_label(folder: Path) -> str:
    if folder == LOCAL_RESULTS_DIR:
        return "your local store of live runs"
    if folder == COMMITTED_RESULTS_DIR:
        return "the committed results"
    return "the store folder"


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------
def weights_fingerprint(model: nn.Module) -> str:
    """sha256 (16 hex digits) of every parameter and buffer, floating-point ones rounded to float16 (the
    precision runs are stored in): the key of a run that starts from them. Starting weights computed on
    another CPU (a float64 SVD, a sum in another order) can differ in the last bits of float32; rounded to
    float16 they almost never do, so a committed run still loads there."""
    digest = hashlib.sha256()
    for name, value in model.state_dict().items():
        value = value.detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update((value.half() if value.is_floating_point() else value).numpy().tobytes())
    return digest.hexdigest()[:16]


def key_hash(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def describe_mismatch(stored: dict[str, Any], wanted: dict[str, Any]) -> str:
    """Why a stored key is not the wanted one: the changed code first (by name), then the other parts."""
    reasons = []
    old_code, new_code = stored.get("code") or {}, wanted.get("code") or {}
    if old_code != new_code:
        changed = sorted(k for k in set(old_code) & set(new_code) if old_code[k] != new_code[k])
        code = [k for k in changed if not k.endswith(":")]
        if code:
            shown = ", ".join(code[:4]) + (f" and {len(code) - 4} more" if len(code) > 4 else "")
            reasons.append(f"code of {shown} changed since the stored run")
        added, gone = sorted(set(new_code) - set(old_code)), sorted(set(old_code) - set(new_code))
        if added:
            reasons.append(f"{', '.join(added[:4])} not in the stored run")
        if gone:
            reasons.append(f"the stored run also used {', '.join(gone[:4])}")
        if not (code or added or gone):       # the same code, filling a role otherwise (a hook's arguments...)
            reasons.append(" and ".join(f"the {role[:-1].replace('model', 'model classes')} changed"
                                        for role in changed))
    others = sorted(k for k in set(stored) | set(wanted) if k != "code" and stored.get(k) != wanted.get(k))
    if "recipe" in others:
        old, new = stored.get("recipe") or {}, wanted.get("recipe") or {}
        others.remove("recipe")
        others += [f"recipe {k} ({old.get(k)!r} → {new.get(k)!r})" for k in sorted(set(old) | set(new))
                   if old.get(k) != new.get(k)]
    if others:
        reasons.append(f"{', '.join(others)} changed")
    return "; ".join(reasons) or "the key changed"


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------
def json_path(folder: Path, name: str) -> Path:
    return Path(folder) / f"{name}.json"


def _weights_files(folder: Path, name: str) -> list[Path]:
    """Every weights file of run ``name`` in ``folder``: ``NAME.<12 hex>.pt`` (and a legacy ``NAME.pt``)."""
    pattern = re.compile(re.escape(name) + r"(\.[0-9a-f]{12})?\.pt")
    return [p for p in Path(folder).glob(f"{glob_escape(name)}*.pt") if pattern.fullmatch(p.name)]


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _umask() -> int:
    """The process's file-creation mask (read by setting it, so set it straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, then ``os.replace`` it: all or nothing."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())   # mkstemp makes it private (0600): use the usual mode
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _folder_lock(folder: Path):
    """An exclusive lock on ``folder`` (POSIX flock on the folder itself: no lock file is left behind),
    held while a save replaces a run's files and removes its old weights. No-op where flock is missing."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def weights_bytes(model: nn.Module) -> int:
    """Size of the stored (float16) state dict."""
    return sum(v.numel() * (2 if v.is_floating_point() else v.element_size()) for v in model.state_dict().values())


def save_run(result: TrainResult, model: nn.Module, folder: str | Path, *, weights: bool = True) -> Path:
    """Store ``result`` and (with ``weights``, if at most ``MAX_WEIGHTS_BYTES`` as float16) ``model``'s weights
    in ``folder``: weights to ``NAME.<sha>.pt`` first, then ``NAME.json`` naming them, each atomically; then
    older weights files of ``NAME`` are removed. Returns the JSON's path. Raises OSError (or whatever
    interrupted it) on failure, leaving the previous pair intact."""
    if not isinstance(result.name, str) or not result.name or result.name.startswith("."):
        raise ValueError(f"result.name={result.name!r} must be a non-empty name to store a run under")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"the store folder {display_path(folder)} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    record = result.to_dict()
    record["weights"] = None
    weights_path = None
    if weights and weights_bytes(model) <= MAX_WEIGHTS_BYTES:
        state = {k: (v.half() if v.is_floating_point() else v).detach().cpu() for k, v in model.state_dict().items()}
        buffer = io.BytesIO()
        torch.save(state, buffer)
        data = buffer.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        weights_path = folder / f"{result.name}.{sha[:12]}.pt"
        record["weights"] = {"file": weights_path.name, "sha256": sha, "bytes": len(data)}
    with _folder_lock(folder):
        if weights_path is not None:
            _write_atomically(weights_path, data)
        target = json_path(folder, result.name)
        _write_atomically(target, (json.dumps(record, indent=1) + "\n").encode())
        for old in _weights_files(folder, result.name):
            if weights_path is None or old.name != weights_path.name:
                with contextlib.suppress(OSError):
                    old.unlink()
    return target


_RECORD_FIELDS: dict[str, tuple[type, ...]] = {
    "test_accuracy": (Real,), "history": (list,), "params": (Integral,), "macs": (Integral,),
    "wall_time_s": (Real,), "device": (str,), "seed": (Integral,), "key": (dict,), "measures": (dict,),
    "provenance": (dict,)}


def read_record(folder: str | Path, name: str) -> dict[str, Any] | None:
    """The stored JSON record of run ``name`` in ``folder``, None if there is none. ``StoredRunError`` naming
    the file, the field and the fix if it cannot be read or a field is missing or of the wrong kind. A record
    of an older ``course_utils`` (a ``config`` and no ``key``) is returned as it is: it matches no key."""
    path = json_path(Path(folder), name)
    fix = "delete it (a live run trains again) or remake it with the command that made it"
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):      # no such run, or the folder is not a folder
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise StoredRunError(f"cannot read the stored run {display_path(path)} ({error}): {fix}") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise StoredRunError(f"the stored run {display_path(path)} is corrupt or truncated ({error}): {fix}") from None
    if not isinstance(record, dict):
        raise StoredRunError(f"the stored run {display_path(path)} is not a run record (a JSON object): {fix}")
    if "key" not in record and isinstance(record.get("config"), dict):
        return record                                    # an older record: stale, never served
    for name_, kinds in _RECORD_FIELDS.items():
        value = record.get(name_, None)
        if name_ not in record:
            raise StoredRunError(f"the stored run {display_path(path)} has no field {name_!r}: {fix}")
        if isinstance(value, bool) or not isinstance(value, kinds):
            expected = " or ".join(k.__name__ for k in kinds)
            raise StoredRunError(f"the stored run {display_path(path)} has {name_}={value!r:.60}, which must be "
                                 f"a {expected}: {fix}")
    if not 0 <= record["test_accuracy"] <= 1:
        raise StoredRunError(f"the stored run {display_path(path)} has test_accuracy={record['test_accuracy']!r}, "
                             f"which must lie in [0, 1]: {fix}")
    return record


def read_weights(folder: str | Path, record: dict[str, Any]) -> tuple[dict[str, torch.Tensor] | None, str]:
    """(state dict, "") if the weights file the record names exists and matches its sha256, else
    (None, why not)."""
    info = record.get("weights")
    if not isinstance(info, dict) or "file" not in info or "sha256" not in info:
        return None, "the stored run has no weights file"
    path = Path(folder) / info["file"]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, f"its weights file {display_path(path)} is missing"
    except OSError as error:
        return None, f"its weights file {display_path(path)} cannot be read ({error})"
    if hashlib.sha256(data).hexdigest() != info["sha256"]:
        return None, f"its weights file {display_path(path)} does not match the recorded sha256 (truncated or replaced)"
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001  (any unpickling error: the message names the file)
        raise StoredRunError(f"the weights file {display_path(path)} is corrupt ({type(error).__name__}): "
                             "delete it or retrain the run") from None
    return state, ""


# ---------------------------------------------------------------------------------------------
# Finding a run again
# ---------------------------------------------------------------------------------------------
def _stale_reason(record: dict[str, Any], key: dict[str, Any]) -> str | None:
    """None if ``record`` was stored under ``key``, else why not (one phrase)."""
    if "key" not in record:
        return "it was stored by an older course_utils, whose key had another form (stale)"
    if key_hash(record["key"]) != key_hash(key):
        return describe_mismatch(record["key"], key)
    return None


def _give(model: nn.Module, folder: Path, record: dict[str, Any], path: Path) -> TrainResult:
    """Load the record's weights (if any) into ``model`` and return its result, marked as loaded."""
    state, _ = read_weights(folder, record)
    if state is not None:
        try:
            model.load_state_dict(state)
        except RuntimeError as error:
            raise StoredRunError(f"the weights of {display_path(path)} do not fit the model ({error}): "
                                 "delete the run and make it again") from None
    else:
        mark_loaded_without_weights(model, path)
    result = TrainResult.from_record(record)
    result.cached, result.store = True, display_path(folder)
    return result


def lookup(model: nn.Module, key: dict[str, Any], store: Store) -> TrainResult | None:
    """The first stored run (in ``store.read_folders()`` order) named ``key["name"]`` with this key and the
    weights it promises, loaded into ``model`` with one line saying where from; else None, after one line
    saying why the stored run of that name is not this run."""
    name, reasons = key["name"], []
    for folder in store.read_folders():
        record = read_record(folder, name)
        if record is None:
            continue
        path = json_path(folder, name)
        why = _stale_reason(record, key)
        if why is None and record.get("weights") is not None:
            state, missing = read_weights(folder, record)
            why = missing or None
        elif why is None and store.weights and weights_bytes(model) <= MAX_WEIGHTS_BYTES:
            why = "it was stored without weights, and this call keeps them"
        if why is not None:
            reasons.append((path, why))
            continue
        result = _give(model, folder, record, path)
        prov = result.provenance
        weights = "" if record.get("weights") else "; no weights stored, the model keeps its initial weights"
        print(f"Cached result from {display_path(path)} ({_store_label(folder)}: trained on {result.device}, "
              f"{str(prov.get('date', '?'))[:10]}, commit {prov.get('commit', '?')}{weights}).")
        return result
    if reasons:
        path, why = reasons[0]
        print(f"Retraining {name}: {why} ({display_path(path)}).")
    return None


def load(name: str, model: nn.Module, key: dict[str, Any], *, command: str,
         folder: str | Path = COMMITTED_RESULTS_DIR) -> TrainResult:
    """The stored run ``name`` of ``folder``, read, never trained: its weights (if stored) are loaded into
    ``model``. ``MissingRunError`` if it is not stored or its key is not ``key`` (made by other code, recipe or
    data), naming ``command``, the one command that makes it."""
    folder = Path(folder)
    record = read_record(folder, name)
    path = json_path(folder, name)
    if record is None:
        raise MissingRunError(f"the run {name} is not stored in {display_path(folder)}: make it with `{command}`")
    why = _stale_reason(record, key)
    if why is not None:
        raise MissingRunError(f"the stored run {display_path(path)} is not this run: {why}. Remake it with `{command}`")
    if record.get("weights") is not None:
        state, missing = read_weights(folder, record)
        if state is None:
            raise MissingRunError(f"the stored run {display_path(path)}: {missing}. Remake it with `{command}`")
    return _give(model, folder, record, path)


def save(result: TrainResult, model: nn.Module, store: Store) -> None:
    """Store the finished run; if that fails (read-only folder, Ctrl-C, not a folder...) say so in one line
    and keep going: the caller still has its result."""
    folder = store.write_folder()
    try:
        path = save_run(result, model, folder, weights=store.weights)
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001  (the run itself is finished and returned)
        print(f"Warning: the run is finished but could not be stored in {display_path(folder)} "
              f"({type(error).__name__}: {error}); the result is returned, not stored.")
        return
    result.store = display_path(folder)
    note = " (git-ignored; data/results/ is unchanged)" if folder == LOCAL_RESULTS_DIR else ""
    print(f"Stored {result.name} in {display_path(path)}{note}.")


def committed_history(name: str | None) -> list[dict] | None:
    """The per-epoch history of the committed run ``name`` (whatever its key), or None."""
    if name is None:
        return None
    try:
        record = read_record(COMMITTED_RESULTS_DIR, name)
    except StoredRunError:
        return None
    return record.get("history") if record else None


# ---------------------------------------------------------------------------------------------
# Runs loaded without weights
# ---------------------------------------------------------------------------------------------
# model -> (the record it was loaded from, the fingerprint of the initial weights it kept)
_LOADED_WITHOUT_WEIGHTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def mark_loaded_without_weights(model: nn.Module, record_path: Path) -> None:
    """Remember that ``model`` was given a stored run's record but not its weights (the record has none):
    until its weights change, ``refuse_untrained_load`` refuses to let it be measured."""
    _LOADED_WITHOUT_WEIGHTS[model] = (display_path(record_path), weights_fingerprint(model))


def refuse_untrained_load(model: nn.Module) -> None:
    """Raise ``StoredRunError`` if ``model`` still holds the initial weights it kept when a stored run without
    weights was loaded into it (its accuracy would be an untrained network's, not the run's)."""
    marked = _LOADED_WITHOUT_WEIGHTS.get(model)
    if marked is None:
        return
    path, initial = marked
    if weights_fingerprint(model) != initial:
        del _LOADED_WITHOUT_WEIGHTS[model]          # trained or loaded since: its weights are its own
        return
    raise StoredRunError(f"this model was loaded from {path}, a stored run without weights, so it holds its "
                         "initial weights: measuring it would measure an untrained network. The run's own "
                         "accuracy is its record's test_accuracy; to get the weights, train it with retrain=True")


def finite_history(history: list[dict[str, Any]]) -> bool:
    """True when every number in ``history`` is finite."""
    return all(math.isfinite(v) for row in history for v in row.values()
               if isinstance(v, Real) and not isinstance(v, bool))


__all__ = ["TrainResult", "StoredRunError", "MissingRunError", "Store", "COMMITTED_RESULTS_DIR", "LOCAL_RESULTS_DIR",
           "MAX_WEIGHTS_BYTES", "retrain_requested", "write_store", "weights_fingerprint", "key_hash",
           "describe_mismatch", "save_run", "read_record", "read_weights", "weights_bytes", "display_path", "lookup",
           "load", "save", "committed_history", "mark_loaded_without_weights", "refuse_untrained_load",
           "finite_history"]
