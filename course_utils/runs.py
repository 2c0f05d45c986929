"""The runs store: what a training run produced (``TrainResult``), the key that says whether a stored run
is the run you asked for, and the two folders that hold runs.

- **Key.** A stored run is reused only when everything that changes its result is the same: the
  architecture (``repr(model)``), the *code* of every module class in the model and of every hook (see
  ``code_fingerprints``), the recipe, the seed, the data's identity and, with ``reset=False``, the starting
  weights. The git commit is not part of the key: a new commit that leaves a model's code alone does not
  retrain it.
- **Files.** A run named ``NAME`` is ``NAME.json`` (record, provenance, key) and ``NAME.<sha>.pt`` (fp16
  weights, named by the start of their sha256, which the JSON records in full). Both are written to a
  temporary file in the same folder and moved into place with ``os.replace``: weights first, then the JSON
  that names them, so a reader sees an old pair or a new pair, never half of one. A stored run is
  returned only if its weights file exists and matches the recorded sha256.
- **Weights too large to store** (over ``max_weights_bytes``): the record says ``"weights": null``. Such a
  record is returned as cached only to a caller whose own ``max_weights_bytes`` is also below the model's
  weight size (a caller that declared it needs the record, not the weights, e.g. notebook 07's lab table);
  the model then keeps its initial weights. Any other caller retrains.
- **Two stores.** ``COMMITTED_RESULTS_DIR`` (``data/results/``, in git) holds the runs the notebooks
  show. A live retrain writes to ``LOCAL_RESULTS_DIR`` (``data/local-results/``, git-ignored) unless the
  environment variable ``COURSE_RESULTS=committed`` is set (``make notebooks`` and the sweep scripts set
  it). When loading, the committed store is searched first, then the local one: a live retrain of the
  committed configuration never hides the committed run (the next open of the notebook shows the committed
  results again), while a run the committed store does not hold (a student's edited block, another seed)
  is found in the local store.
- **Environment.** ``COURSE_RETRAIN`` (1/0, true/false, yes/no, any case; empty = no) asks every training
  call to train live (``retrain_requested()``); ``COURSE_RESULTS`` is ``local`` (default) or ``committed``.
"""
from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import hashlib
import inspect
import io
import json
import os
import re
import tempfile
import textwrap
import types
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .provenance import REPO_ROOT

COMMITTED_RESULTS_DIR = REPO_ROOT / "data" / "results"
LOCAL_RESULTS_DIR = REPO_ROOT / "data" / "local-results"
PACKAGE_DIR = Path(__file__).resolve().parent

_TRUE, _FALSE = ("1", "true", "yes"), ("", "0", "false", "no")


@dataclass
class TrainResult:
    """What a training run produced. ``history`` holds one dict per epoch: epoch, train_loss,
    train_accuracy, curve_test_loss and curve_test_accuracy (on the first ``config["curve_test_images"]``
    test images, no flip averaging), lr, seconds, plus what an ``epoch_hook`` adds. ``test_accuracy`` is
    measured once at the end on the whole test set (with flip averaging when ``config["tta"]``)."""

    name: str | None
    test_accuracy: float
    history: list[dict[str, float]]
    params: int
    macs: int                            # per 32×32 image
    wall_time_s: float
    device: str
    seed: int
    config: dict[str, Any]
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
    def from_dict(cls, record: dict[str, Any]) -> TrainResult:
        fields = {f.name for f in dataclasses.fields(cls)} - {"cached", "store"}
        return cls(**{k: v for k, v in record.items() if k in fields})

    def __repr__(self) -> str:
        state = " (partial)" if self.partial else (" (cached)" if self.cached else "")
        return (f"TrainResult{state}(name={self.name!r}, test_accuracy={self.test_accuracy:.3f}, "
                f"epochs={len(self.history)}, params={self.params:,}, macs={self.macs:,}, "
                f"wall_time_s={self.wall_time_s:.1f}, device={self.device!r})")


class StoredRunError(ValueError):
    """A stored run's file exists but cannot be read (truncated, corrupt, not a folder...)."""


# ---------------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------------
def retrain_requested() -> bool:
    """True when the environment variable ``COURSE_RETRAIN`` asks every training call to train live.

    Accepts 1/0, true/false, yes/no in any case (unset or empty = no); anything else is a ValueError."""
    raw = os.environ.get("COURSE_RETRAIN", "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"COURSE_RETRAIN={raw!r} must be 1/0, true/false or yes/no (any case); "
                     "unset or empty means no")


def write_store() -> Path:
    """The folder a run trained without an explicit ``cache_dir`` is saved to: ``LOCAL_RESULTS_DIR``,
    or ``COMMITTED_RESULTS_DIR`` when ``COURSE_RESULTS=committed``."""
    raw = os.environ.get("COURSE_RESULTS", "")
    value = raw.strip().lower()
    if value in ("", "local"):
        return LOCAL_RESULTS_DIR
    if value == "committed":
        return COMMITTED_RESULTS_DIR
    raise ValueError(f"COURSE_RESULTS={raw!r} must be 'local' (the default: data/local-results/) or "
                     "'committed' (data/results/, for make notebooks and the sweep scripts)")


def read_stores() -> list[Path]:
    """Folders searched for a stored run, first match wins: the committed store, then the local one."""
    return [COMMITTED_RESULTS_DIR, LOCAL_RESULTS_DIR]


def retrain_switch(estimate: str = "") -> Any:
    """A toggle button for a notebook's training cells, displayed by the calling cell::

        RETRAIN = retrain_switch("~1 min")          # in the set-up cell
        train(..., retrain=RETRAIN.value)           # in each training cell

    It starts on when ``COURSE_RETRAIN`` asks for retraining (``make notebooks``), off otherwise, so
    switching it on for a live demo never persists in the saved notebook (a widget's state is not code).
    Live runs go to the local store (``data/local-results/``), never to the committed results."""
    import ipywidgets
    from IPython.display import display

    label = f"Train live (one seed, {estimate})" if estimate else "Train live (one seed)"
    button = ipywidgets.ToggleButton(value=retrain_requested(), description=label, icon="play",
                                     tooltip="on: the training cells below train instead of loading stored runs",
                                     layout=ipywidgets.Layout(width="auto"))
    display(button)
    return button


# ---------------------------------------------------------------------------------------------
# Code fingerprints
# ---------------------------------------------------------------------------------------------
def normalised_source_hash(source: str) -> str:
    """sha256 (16 hex digits) of ``ast.dump`` of ``source`` with docstrings removed: comments,
    docstrings, blank lines and formatting do not change it; any change to the code does."""
    tree = ast.parse(textwrap.dedent(source))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=256)
def _file_hash(path: str, mtime_ns: int) -> str:
    return normalised_source_hash(Path(path).read_text(encoding="utf-8"))


def _course_file(obj: Any) -> Path | None:
    """The course_utils source file that defines ``obj``, or None if it is defined elsewhere."""
    try:
        path = Path(inspect.getsourcefile(obj) or "").resolve()
    except (TypeError, OSError):
        return None
    return path if path.is_file() and PACKAGE_DIR in path.parents else None


def _code_object_hash(code: types.CodeType, digest: Any) -> None:
    digest.update(code.co_code)
    digest.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_object_hash(const, digest)
        else:
            digest.update(repr(const).encode())


def _bytecode_hash(functions: list[Any]) -> str:
    digest = hashlib.sha256()
    for function in functions:
        code = getattr(function, "__code__", None)
        if code is not None:
            _code_object_hash(code, digest)
    return digest.hexdigest()[:16]


def _source_or_bytecode_hash(obj: Any, functions: list[Any]) -> str:
    try:
        return normalised_source_hash(inspect.getsource(obj))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return _bytecode_hash(functions)


def _location(obj: Any) -> str:
    path = _course_file(obj)
    if path is not None:
        return str(path.relative_to(REPO_ROOT)) if REPO_ROOT in path.parents else path.name
    return getattr(obj, "__module__", None) or "?"


def class_fingerprint(cls: type) -> str:
    """Hash of a class's code: its whole defining file for a course_utils class (so an edited helper that
    ``forward`` calls counts), else its own source, else the bytecode of its methods."""
    path = _course_file(cls)
    if path is not None:
        return _file_hash(str(path), path.stat().st_mtime_ns)
    methods = [v for v in vars(cls).values() if isinstance(v, types.FunctionType)]
    return _source_or_bytecode_hash(cls, methods)


def function_fingerprint(function: Callable) -> str:
    """Hash of a hook's code (as ``class_fingerprint``), plus the values of its closure cells that are
    plain numbers, strings or booleans (``hook_factory(epochs=20)`` and ``(epochs=8)`` differ)."""
    if isinstance(function, functools.partial):
        inner = function_fingerprint(function.func)
        plain = [repr(a) for a in (*function.args, *sorted(function.keywords.items()))]
        return hashlib.sha256((inner + "|".join(plain)).encode()).hexdigest()[:16]
    target = getattr(function, "__func__", function)          # bound method -> function
    if not isinstance(target, types.FunctionType):             # a callable object: its class's code
        return class_fingerprint(type(function))
    path = _course_file(target)
    if path is not None:
        code = _file_hash(str(path), path.stat().st_mtime_ns)
    else:
        code = _source_or_bytecode_hash(target, [target])
    cells = []
    for var, cell in zip(target.__code__.co_freevars, target.__closure__ or ()):
        with contextlib.suppress(ValueError):                  # an empty cell
            if isinstance(cell.cell_contents, (bool, int, float, str)):
                cells.append(f"{var}={cell.cell_contents!r}")
    return hashlib.sha256((code + "|".join(cells)).encode()).hexdigest()[:16] if cells else code


def code_fingerprints(model: nn.Module, hooks: dict[str, Callable | None] | None = None) -> dict[str, str]:
    """{label: hash} for every class (and base class) of every module in ``model`` and for every hook,
    e.g. ``{"Fire (course_utils/layers/fire.py)": "3f0c…", "step_hook temperature_step_hook (…)": …}``.
    torch's own classes are skipped (the torch version is in the run's provenance)."""
    fingerprints: dict[str, str] = {}
    for module in model.modules():
        for cls in type(module).__mro__:
            if cls is object or cls.__module__.split(".")[0] == "torch":
                continue
            label = f"{cls.__qualname__} ({_location(cls)})"
            if label not in fingerprints:
                fingerprints[label] = class_fingerprint(cls)
    for role, hook in (hooks or {}).items():
        if hook is not None:
            target = getattr(hook, "func", hook)
            name = getattr(target, "__qualname__", type(target).__qualname__)
            fingerprints[f"{role} {name} ({_location(target)})"] = function_fingerprint(hook)
    return dict(sorted(fingerprints.items()))


def weights_fingerprint(model: nn.Module) -> str:
    """sha256 (16 hex digits) of every parameter and buffer, floating-point ones rounded to float16 (the
    precision runs are stored in): the key of a run that starts from them. Starting weights computed on
    another CPU (a float64 SVD, a sum in another order) can differ in the last bits of float32; rounded to
    float16 they almost never do, so a committed run still loads there."""
    digest = hashlib.sha256()
    for key, value in model.state_dict().items():
        value = value.detach().cpu().contiguous()
        digest.update(key.encode())
        digest.update((value.half() if value.is_floating_point() else value).numpy().tobytes())
    return digest.hexdigest()[:16]


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def describe_mismatch(stored: dict[str, Any], wanted: dict[str, Any]) -> str:
    """Why a stored configuration is not the wanted one, naming the changed classes/hooks first."""
    reasons = []
    old_code, new_code = stored.get("code") or {}, wanted.get("code") or {}
    if old_code != new_code:
        changed = sorted(k for k in set(old_code) & set(new_code) if old_code[k] != new_code[k])
        if changed:
            reasons.append(f"code of {', '.join(changed)} changed since the stored run")
        if set(new_code) - set(old_code) and old_code:
            reasons.append(f"{', '.join(sorted(set(new_code) - set(old_code)))} not in the stored run")
        if set(old_code) - set(new_code):
            reasons.append(f"the stored run also used {', '.join(sorted(set(old_code) - set(new_code)))}")
        if not old_code:
            reasons.append("the stored run has no code fingerprint (stored by an older course_utils)")
    others = sorted(k for k in set(stored) | set(wanted) if k != "code" and stored.get(k) != wanted.get(k))
    if others:
        reasons.append(f"{', '.join(others)} changed")
    return "; ".join(reasons) or "the configuration changed"


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------
def display_path(path: Path) -> str:
    """``path`` relative to the repository when inside it, else as given (no machine paths in messages)."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


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
def _folder_lock(folder: Path) -> Iterator[None]:
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


def save_run(result: TrainResult, model: nn.Module, folder: str | Path, *,
             max_weights_bytes: int) -> Path:
    """Store ``result`` and (if at most ``max_weights_bytes`` as float16) ``model``'s weights in
    ``folder``: weights to ``NAME.<sha>.pt`` first, then ``NAME.json`` naming them, each atomically; then
    older weights files of ``NAME`` are removed. Returns the JSON's path. Raises OSError (or whatever
    interrupted it) on failure, leaving the previous pair intact."""
    if not isinstance(result.name, str) or not result.name or result.name.startswith("."):
        raise ValueError(f"result.name={result.name!r} must be a non-empty name to store a run under")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"cache_dir={display_path(folder)} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    record = result.to_dict()
    record["weights"] = None
    weights_path = None
    if weights_bytes(model) <= max_weights_bytes:
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


def read_record(folder: str | Path, name: str) -> dict[str, Any] | None:
    """The stored JSON record of run ``name`` in ``folder``, None if there is none; ``StoredRunError``
    naming the file if it cannot be read."""
    path = json_path(Path(folder), name)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):      # no such run, or the folder is not a folder
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise StoredRunError(f"cannot read the stored run {display_path(path)} ({error}): "
                             "delete it or pass retrain=True") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise StoredRunError(f"the stored run {display_path(path)} is corrupt or truncated ({error}): "
                             "delete it or pass retrain=True") from None
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        raise StoredRunError(f"the stored run {display_path(path)} is not a run record (no 'config'): "
                             "delete it or pass retrain=True")
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
                             "delete it or pass retrain=True") from None
    return state, ""


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


__all__ = ["TrainResult", "StoredRunError", "COMMITTED_RESULTS_DIR", "LOCAL_RESULTS_DIR", "retrain_requested",
           "retrain_switch", "write_store", "read_stores", "code_fingerprints", "class_fingerprint",
           "function_fingerprint", "normalised_source_hash", "weights_fingerprint", "config_hash",
           "describe_mismatch", "save_run", "read_record", "read_weights", "weights_bytes", "display_path",
           "mark_loaded_without_weights", "refuse_untrained_load"]
