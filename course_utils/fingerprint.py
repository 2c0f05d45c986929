"""What a stored run's numbers depend on, written as hashes: the code of a model's classes, of its hooks and of
the training loop, and the plain values that code reads. ``course_utils.runs`` keys every stored run on them.

- **What is read.** A class: every function in its own namespace (methods, properties, static and class
  methods), its plain class attributes, and the same for each base class. A function: its source, its default
  values, the values in its closure, and every global name it reads (a function or class, read the same way;
  a plain value; an attribute of a module). Everything reached is read, wherever it is defined: in
  ``course_utils``, in a notebook cell, in a student's file.
- **What is not read.** Installed packages (torch, numpy, the standard library...): their versions are the run's
  provenance. A function marked :func:`key_neutral`, whose edits cannot change any number because a named test
  proves its result bit for bit against code that *is* read: it is keyed by its name only.
- **Source, normalised.** Comments, docstrings, blank lines and trailing spaces are dropped, and the text is
  hashed as text, so the key is the same on every Python version and machine; any edit of the code changes it.
- **The code that runs, not the file on disk.** ``course_utils``'s files are hashed when it is imported; a file
  that changed on disk since then (the process runs the old code) makes the key *unknown*.
- **Unknown.** Code without readable source, a value that is neither plain nor code, or a stale file: the key
  lists what could not be read (:attr:`CodeKey.unknown`), and such a run is never served from the store.
"""
from __future__ import annotations

import ast
import builtins
import dataclasses
import enum
import functools
import hashlib
import importlib
import importlib.util
import inspect
import io
import linecache
import sys
import sysconfig
import textwrap
import tokenize
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

PACKAGE = "course_utils"
PACKAGE_DIR = Path(__file__).resolve().parent
_INSTALLED_DIRS = tuple(Path(p).resolve() for p in {sysconfig.get_paths()[k] for k in ("purelib", "platlib",
                                                                                       "stdlib", "platstdlib")})
# Class attributes that Python sets itself, differently from one version to the next: a class's key skips
# every dunder attribute that is not a function, the functions Python writes (``__annotate__``), and abc's
# bookkeeping.
_AUTOMATIC_FUNCTIONS = {"__annotate__", "__annotate_func__"}
_AUTOMATIC_ATTRIBUTES = {"_abc_impl"}


# ---------------------------------------------------------------------------------------------
# The package as imported
# ---------------------------------------------------------------------------------------------
# The text of every course_utils file as this process imported it (read when the package is imported, before
# any of its modules): the key reads course_utils code from here, so it is the code that runs.
IMPORTED_SOURCES: dict[Path, str] = {path: path.read_text(encoding="utf-8") for path in PACKAGE_DIR.rglob("*.py")}


def _block(lines: list[str], first_line: int) -> str | None:
    """The def (or class) that starts at line ``first_line`` (1-based) of ``lines``, decorators included."""
    if not 1 <= first_line <= len(lines):
        return None
    try:
        return "".join(inspect.getblock(lines[first_line - 1:]))
    except (IndexError, SyntaxError, tokenize.TokenError):
        return None


@functools.lru_cache(maxsize=256)
def _definitions(path: Path, mtime_ns: int, size: int) -> dict[str, str]:
    """{qualified name: normalised source} of every function in file ``path`` as it is on disk now."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    found: dict[str, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                found.setdefault(name, normalised_source("".join(lines[first - 1:child.end_lineno])))
                visit(child, name + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(ast.parse(text), "")
    return found


def changed_on_disk(function: types.FunctionType, imported: str) -> bool:
    """True when the course_utils ``function`` (``imported``: its normalised source as imported) reads otherwise
    on disk now: the process runs code that is no longer the code in the file."""
    path = Path(function.__code__.co_filename)
    try:
        stat = path.stat()
        now = _definitions(path, stat.st_mtime_ns, stat.st_size).get(function.__qualname__)
    except (OSError, SyntaxError, ValueError):
        return True
    return now != imported


# The proofs of the key-neutral functions that training never calls (analytic costs, deployment forms) and of
# the argument checks, which return their argument unchanged or raise.
UNUSED_BY_TRAINING = "tests/test_fingerprint.py::test_code_marked_unused_by_training_is_never_called"
PASSES_VALUES_THROUGH = "tests/test_validation.py::test_checks_pass_valid_values_through_unchanged"


def key_neutral(proof: str) -> Callable[[Callable], Callable]:
    """Mark a function as unable to change any number: edits to it stale no stored run. ``proof`` names the
    test that shows its results equal, bit for bit, those of code the key does read (e.g. the compiled shift
    kernel against the torch path); ``tests/test_fingerprint.py`` checks that each named test exists."""
    if not isinstance(proof, str) or "::" not in proof:
        raise ValueError(f"proof={proof!r} must name a test, as 'tests/test_file.py::test_name'")

    def mark(function: Callable) -> Callable:
        function.__key_neutral__ = proof
        return function

    return mark


# ---------------------------------------------------------------------------------------------
# Source text
# ---------------------------------------------------------------------------------------------
def normalised_source(source: str) -> str:
    """``source`` without comments, docstrings, blank lines and trailing spaces (indentation kept: it is
    syntax). Text that does not parse on its own (a lambda cut out of a line) is only stripped of blank lines."""
    source = textwrap.dedent(source)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "\n".join(line.rstrip() for line in source.splitlines() if line.strip())
    lines = source.splitlines()
    spans = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            doc = body[0]
            spans.append(((doc.lineno, doc.col_offset), (doc.end_lineno, doc.end_col_offset)))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            spans.append((token.start, token.end))
    for (start_line, start_col), (end_line, end_col) in sorted(spans, reverse=True):
        first, last = lines[start_line - 1], lines[end_line - 1]
        lines[start_line - 1:end_line] = [first[:start_col] + last[end_col:]]
    return "\n".join(line.rstrip() for line in lines if line.strip())


def _local_imports(tree: ast.AST) -> list[tuple[str, int, str]]:
    """(module, level, name) of every ``from module import name`` inside the code (level: leading dots)."""
    return [(node.module or "", node.level, alias.name) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) for alias in node.names if alias.name != "*"]


def _import(module: str, level: int, name: str, where: types.FunctionType) -> Any:
    """What ``from <level dots><module> import name`` gives inside ``where``'s module; ImportError if nothing."""
    package = getattr(sys.modules.get(where.__module__), "__package__", None) or ""
    target = importlib.import_module(importlib.util.resolve_name("." * level + module, package) if level else module)
    return getattr(target, name) if hasattr(target, name) else importlib.import_module(f"{target.__name__}.{name}")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _free_names(tree: ast.AST) -> list[tuple[str, tuple[str, ...]]]:
    """(name, attribute chain) of every name the code reads but does not bind itself, e.g.
    ``checks.positive_int(...)`` → ("checks", ("positive_int",)); in order of first appearance. Type hints
    are left out (they change nothing at run time); what the code imports itself is :func:`_local_imports`."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not tree:
            bound.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    top = tree.body[0] if isinstance(tree, ast.Module) and len(tree.body) == 1 else None
    if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)):
        bound.discard(top.name)          # a recursive function reads its own global name
    annotations = set()                  # type hints change nothing at run time
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            annotations.update(map(id, ast.walk(node.annotation)))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            annotations.update(map(id, ast.walk(node.returns)))
        elif isinstance(node, ast.AnnAssign):
            annotations.update(map(id, ast.walk(node.annotation)))
    found: dict[tuple[str, tuple[str, ...]], None] = {}
    for node in ast.walk(tree):
        if id(node) in annotations:
            continue
        chain: list[str] = []
        inner = node
        while isinstance(inner, ast.Attribute):
            chain.append(inner.attr)
            inner = inner.value
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load) and inner.id not in bound:
            found[(inner.id, tuple(reversed(chain)))] = None
    return list(found)


# ---------------------------------------------------------------------------------------------
# Where code comes from
# ---------------------------------------------------------------------------------------------
def _module_name(obj: Any) -> str:
    return obj.__name__ if isinstance(obj, types.ModuleType) else (getattr(obj, "__module__", None) or "")


@functools.lru_cache(maxsize=1024)
def _installed_module(name: str) -> bool:
    """True for the standard library and installed packages (never for course_utils or notebook code)."""
    top = name.split(".")[0]
    if top in (PACKAGE, "__main__", ""):
        return False
    if top in sys.stdlib_module_names or top == "builtins":
        return True
    module = sys.modules.get(name) or sys.modules.get(top)
    file = getattr(module, "__file__", None)
    if file is None:
        return True                     # a compiled built-in module
    path = Path(file).resolve()
    return any(root in path.parents for root in _INSTALLED_DIRS)


def installed(obj: Any) -> bool:
    """True when ``obj`` (function, class, module) comes from the standard library or an installed package.
    Code made by ``exec`` without a module name says it comes from ``builtins``: only real builtins do."""
    name = _module_name(obj)
    if name == "builtins" and not isinstance(obj, types.ModuleType):
        return getattr(builtins, getattr(obj, "__qualname__", ""), None) is obj
    return _installed_module(name)


def label(obj: Any) -> str:
    """How a key names a function or class: ``Fire (course_utils.layers.fire)``; installed code by its package
    only (``Conv2d (torch)``), since where a package keeps a name changes between its versions."""
    if installed(obj):
        return f"{getattr(obj, '__name__', type(obj).__name__)} ({_module_name(obj).split('.')[0]})"
    return f"{getattr(obj, '__qualname__', getattr(obj, '__name__', type(obj).__name__))} ({_module_name(obj)})"


# ---------------------------------------------------------------------------------------------
# The key
# ---------------------------------------------------------------------------------------------
@dataclass
class CodeKey:
    """``hashes``: {label: hash} of every function and class the roots reach (each hash covers the object's
    own source and the plain values it reads; the objects it refers to have their own entries).
    ``unknown``: what could not be read; a key with any is not a key (such a run is never served)."""

    hashes: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unknown


class _Reader:
    """Reads code and values depth first, filling one :class:`CodeKey`."""

    def __init__(self) -> None:
        self.key = CodeKey()
        self._labels: dict[int, str] = {}
        self._keep: list[Any] = []     # objects whose id is in _labels stay alive while reading

    # -- values -------------------------------------------------------------------------------
    def token(self, value: Any, where: str) -> str:
        """A string that stands for ``value`` in its user's hash. A container that holds code is a registry
        (the operators' table, the blocks): it is noted, not read, because what the code builds from it is in
        the model itself (the key's ``architecture`` and ``module_state``), and adding an entry stales nothing."""
        if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
            return repr(value)
        if value is dataclasses.MISSING:
            return "MISSING"
        if isinstance(value, (tuple, list, set, frozenset, dict)) and _holds_code(value) or (
                isinstance(value, (list, dict)) and not value):     # an empty registry, still to be filled
            return "registry"
        if isinstance(value, enum.Enum):
            return f"enum {type(value).__qualname__}.{value.name}"
        if isinstance(value, (torch.dtype, torch.device, torch.Size, torch.memory_format)):
            return repr(value)
        if isinstance(value, torch.Tensor):
            data = value.detach().cpu().contiguous()
            return f"tensor {data.dtype} {tuple(data.shape)} {hashlib.sha256(data.numpy().tobytes()).hexdigest()[:16]}" \
                if data.dtype != torch.bfloat16 else f"tensor bf16 {tuple(data.shape)} {self.token(data.float(), where)}"
        if isinstance(value, np.ndarray):
            return f"array {value.dtype} {value.shape} {hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]}"
        if isinstance(value, (np.generic,)):
            return repr(value.item())
        if isinstance(value, (tuple, list)):
            return f"{type(value).__name__}[" + ", ".join(self.token(v, where) for v in value) + "]"
        if isinstance(value, (set, frozenset)):
            return f"{type(value).__name__}{{" + ", ".join(sorted(self.token(v, where) for v in value)) + "}"
        if isinstance(value, dict):
            items = sorted((self.token(k, where), self.token(v, where)) for k, v in value.items())
            return "dict{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
        if isinstance(value, types.ModuleType):
            return f"module {value.__name__}"
        if isinstance(value, functools.partial):
            return (f"partial({self.token(value.func, where)}, {self.token(value.args, where)}, "
                    f"{self.token(value.keywords, where)})")
        if isinstance(value, types.MethodType):
            return f"method {self.token(value.__func__, where)} of {self.token(value.__self__, where)}"
        if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType, types.MethodWrapperType,
                              types.WrapperDescriptorType, types.MethodDescriptorType,
                              types.ClassMethodDescriptorType)):
            return f"ref {self.code(value)}"
        if isinstance(value, functools._lru_cache_wrapper):
            return f"lru_cache {self.token(value.__wrapped__, where)}"
        if isinstance(value, functools.cached_property):
            return f"cached_property {self.token(value.func, where)}"
        if isinstance(value, (staticmethod, classmethod)):
            return f"{type(value).__name__} {self.token(value.__func__, where)}"
        if isinstance(value, property):
            return f"property {self.token([value.fget, value.fset, value.fdel], where)}"
        if installed(type(value)):
            if isinstance(value, (torch.nn.Module, torch.Generator)):
                return self._unknown(f"{where} reads a {type(value).__name__} object, whose state a key cannot hold")
            return f"{label(type(value))} {value!r}" if _plain_repr(value) else self._unknown(
                f"{where} reads a {type(value).__qualname__} object, which a key cannot hold")
        if dataclasses.is_dataclass(value):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return f"{self.token(type(value), where)}({self.token(fields, where)})"
        if callable(value):          # a callable object: its class's code and its own plain state
            return f"{self.token(type(value), where)} with {self.token(dict(vars(value)), where)}"
        return self._unknown(f"{where} reads {label(type(value))} object {value!r:.60}, which a key cannot hold")

    def _unknown(self, what: str) -> str:
        if what not in self.key.unknown:
            self.key.unknown.append(what)
        return "unknown"

    # -- code ---------------------------------------------------------------------------------
    def code(self, obj: Any) -> str:
        """The label of a function or class; read into the key the first time (installed code: label only)."""
        name = label(obj)
        if installed(obj) or not isinstance(obj, (type, types.FunctionType)):
            return name
        if id(obj) in self._labels:
            return self._labels[id(obj)]
        unique, n = name, 2
        while unique in self.key.hashes:
            unique, n = f"{name} #{n}", n + 1
        self._labels[id(obj)] = unique
        self._keep.append(obj)
        self.key.hashes[unique] = "reading"             # a recursion comes back to this label
        if getattr(obj, "__key_neutral__", None):
            self.key.hashes[unique] = f"key-neutral ({obj.__key_neutral__})"
        elif isinstance(obj, type):
            self.key.hashes[unique] = self._class(obj, unique)
        else:
            self.key.hashes[unique] = self._function(obj, unique)
        return unique

    def _class(self, cls: type, where: str) -> str:
        parts = ["bases " + ", ".join(self.token(base, where) for base in cls.__bases__)]
        if dataclasses.is_dataclass(cls):       # its fields; the methods the decorator writes have no source
            parts += [f"field {f.name}: {f.type} = {self.token(f.default, where)} / "
                      f"{self.token(f.default_factory, where)}" for f in dataclasses.fields(cls)]
            parts.append(f"frozen {cls.__dataclass_params__.frozen}")
        for attribute, value in sorted(vars(cls).items()):
            if _set_by_python(attribute, value) or _written_by_python(cls, value):
                continue
            parts.append(f"{attribute} = {self.token(value, f'{where}.{attribute}')}")
        return _digest(*parts)

    def _function(self, function: types.FunctionType, where: str) -> str:
        read = _read_source(function.__code__, function)
        if read is None:
            return self._unknown(f"{where}: its source cannot be read (defined without a file, e.g. by exec)")
        text, free_names, imports, stale = read
        if stale:
            shown = Path(function.__code__.co_filename).resolve().relative_to(PACKAGE_DIR.parent)
            return self._unknown(f"{function.__qualname__} in {shown} changed on disk since this process imported "
                                 "course_utils, so the code that runs is not the code on disk: restart the kernel "
                                 "(Kernel → Restart) to run the new code")
        parts = [text]
        code = function.__code__
        cells = dict(zip(code.co_freevars, function.__closure__ or ()))
        for name, chain in free_names:
            if name in cells:
                try:
                    value = cells[name].cell_contents
                except ValueError:           # an empty cell (a name defined later in the enclosing function)
                    continue
            elif name in function.__globals__:
                value = function.__globals__[name]
            else:
                continue                      # a builtin
            value, used = _follow(value, chain)
            parts.append(f"{'.'.join((name, *used))} = {self.token(value, where)}")
        for module, level, name in imports:
            try:
                value = _import(module, level, name, function)
            except ImportError:
                parts.append(f"import {'.' * level}{module}.{name} = unknown")
                self._unknown(f"{where} imports {'.' * level}{module}.{name}, which cannot be found")
                continue
            parts.append(f"import {'.' * level}{module}.{name} = {self.token(value, where)}")
        parts.append(f"defaults {self.token(function.__defaults__, where)}")
        parts.append(f"kwdefaults {self.token(function.__kwdefaults__, where)}")
        return _digest(*parts)



Names = list[tuple[str, tuple[str, ...]]]
Imports = list[tuple[str, int, str]]
_SOURCES: dict[int, tuple[types.CodeType, tuple[str, Names, Imports] | None]] = {}


def _imported_source(function: types.FunctionType) -> str | None:
    """The source of a course_utils function as imported (``IMPORTED_SOURCES``), or None for other code."""
    path = Path(function.__code__.co_filename)
    if not path.is_absolute() or PACKAGE_DIR not in path.resolve().parents:
        return None
    text = IMPORTED_SOURCES.get(path.resolve())
    return None if text is None else _block(text.splitlines(keepends=True), function.__code__.co_firstlineno)


def _read_source(code: types.CodeType, function: types.FunctionType) -> tuple[str, Names, Imports, bool] | None:
    """(normalised source, free names, local imports, changed on disk since import) of a function; None
    without source.
    course_utils code is read from its imported text; other code (a notebook cell, a student's file) through
    ``inspect``. The text is read once per code object, the disk checked every time."""
    imported = _imported_source(function)
    cached = _SOURCES.get(id(code))
    if cached is not None and cached[0] is code:
        result = cached[1]
    else:
        try:
            source = imported if imported is not None else inspect.getsource(function)
        except (OSError, TypeError):
            source = None
        if source is None:
            result = None
        else:
            try:
                tree = ast.parse(textwrap.dedent(source))
            except SyntaxError:
                free, imports = [], []
            else:
                free, imports = _free_names(tree), _local_imports(tree)
            result = (normalised_source(source), free, imports)
        _SOURCES[id(code)] = (code, result)
    if result is None:
        return None
    return (*result, imported is not None and changed_on_disk(function, result[0]))


def _holds_code(container: Any, depth: int = 3) -> bool:
    """True when a tuple, list, set or dict holds a function, class or callable object (``depth`` levels down)."""
    values = container.values() if isinstance(container, dict) else container
    for value in values:
        if isinstance(value, (tuple, list, set, frozenset, dict)):
            if depth > 1 and _holds_code(value, depth - 1):
                return True
        elif callable(value) or dataclasses.is_dataclass(value):
            return True
    return False


def _set_by_python(attribute: str, value: Any) -> bool:
    """True for a class attribute that Python sets, not the class body (``__module__``, ``__doc__``...)."""
    if attribute in _AUTOMATIC_ATTRIBUTES or attribute in _AUTOMATIC_FUNCTIONS:
        return True
    dunder = attribute.startswith("__") and attribute.endswith("__")
    return dunder and not isinstance(value, (types.FunctionType, staticmethod, classmethod, property))


def _written_by_python(cls: type, value: Any) -> bool:
    """True for a method that ``dataclass`` wrote from a template (``__init__``, ``__eq__``...): its code has a
    made-up file name that no source stands behind. The class's fields say what it holds."""
    if not dataclasses.is_dataclass(cls) or not isinstance(value, types.FunctionType):
        return False
    filename = inspect.unwrap(value).__code__.co_filename
    return filename.startswith("<") and filename not in linecache.cache


def _plain_repr(value: Any) -> bool:
    """True when ``repr(value)`` names the value and not its memory address."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001  (any failing repr: not plain)
        return False
    return " at 0x" not in text and "object at" not in text


def _follow(value: Any, chain: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """Follow ``chain`` through modules of ours (``checks.positive_int``); stop at anything else."""
    used: list[str] = []
    for attribute in chain:
        if not isinstance(value, types.ModuleType) or installed(value) or not hasattr(value, attribute):
            break
        value = getattr(value, attribute)
        used.append(attribute)
    return value, tuple(used)


def code_key(roots: dict[str, Any]) -> CodeKey:
    """The key of ``roots``, {role: object}: classes, functions, partials, callable objects, lists of them, or
    None (e.g. ``{"model": [Fire, ...], "step_hook": hook, "epoch_hook": None}``). Every function and class
    reached has an entry under its label; each role has one, which says what fills it."""
    reader = _Reader()
    for role, root in roots.items():
        members = root if isinstance(root, list) else [root]
        reader.key.hashes[f"{role}:"] = _digest(*(reader.token(member, role) for member in members))
    return reader.key


_MODULE_INTERNALS = frozenset(vars(torch.nn.Module()))       # what nn.Module.__init__ sets: training, _parameters...


def module_state(model: torch.nn.Module) -> tuple[str, list[str]]:
    """(digest, unknown) of what ``repr(model)`` may not show: for every submodule, its class, its own
    attributes where its class is ours (``self.temperature = 20.0``...; an installed class's are in its repr),
    its parameters' and buffers' names, shapes, dtypes and ``requires_grad``, and the functions hooked into it.
    The weights' values are the seed's business."""
    reader = _Reader()
    parts = []
    for path, module in model.named_modules():
        # an installed class's settings are in repr(model); its other attributes change with its version
        own = {} if installed(type(module)) else {k: v for k, v in vars(module).items() if k not in _MODULE_INTERNALS}
        hooks = {k: list(v.values()) for k, v in vars(module).items()
                 if k in _MODULE_INTERNALS and k.endswith("hooks") and isinstance(v, dict) and v}
        tensors = [(n, tuple(t.shape), str(t.dtype), t.requires_grad)
                   for n, t in (*module.named_parameters(recurse=False), *module.named_buffers(recurse=False))
                   if t is not None]
        where = f"module {path or 'model'} ({type(module).__qualname__})"
        parts.append(f"{path} {label(type(module))} {reader.token(own, where)} {reader.token(hooks, where)} {tensors}")
    return _digest(*parts), reader.key.unknown


def model_classes(model: torch.nn.Module) -> list[type]:
    """The class of every submodule of ``model`` that is not installed code, in order of first appearance."""
    return list(dict.fromkeys(type(m) for m in model.modules() if not installed(type(m))))


__all__ = ["CodeKey", "code_key", "model_classes", "module_state", "key_neutral", "UNUSED_BY_TRAINING",
           "PASSES_VALUES_THROUGH", "normalised_source", "installed", "label",
           "changed_on_disk", "IMPORTED_SOURCES"]
