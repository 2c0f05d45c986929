"""Show the idea of a layer, not its argument checks: source displays for the notebooks.

``show_source(obj)`` prints the source of a class or function the way a slide would show it:

* calls to ``checks.*`` are dropped when they stand alone, and replaced by the value they check when
  their result is used (``self.k = checks.positive_int("k", k)`` is shown as ``self.k = k``; a check
  that converts, such as ``kernel_pair``, is shown as torch's own conversion);
* ``if ...: raise ValueError(...)`` guards are dropped;
* the module-private plumbing is dropped: methods whose name starts with one underscore, and
  assignments to private attributes (``self._cache = ...``);
* one marker line ``# (argument checks omitted)`` stands where something was dropped.

Comments, docstrings and line breaks of the kept code are shown as written.
"""
from __future__ import annotations

import ast
import inspect
import textwrap

MARKER = "# (argument checks omitted)"
_CHECK_MODULE = "checks"
# Checks that return a converted value: shown as the plain torch conversion they amount to.
_CONVERTING = {"kernel_pair": "nn.modules.utils._pair"}


def _is_check_call(node: ast.AST) -> bool:
    """``checks.something(...)``."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == _CHECK_MODULE)


def _is_guard(node: ast.stmt) -> bool:
    """``if ...: raise SomeError(...)`` with nothing else in the branch and no ``else``."""
    return (isinstance(node, ast.If) and not node.orelse and len(node.body) == 1
            and isinstance(node.body[0], ast.Raise))


def _is_private_plumbing(node: ast.stmt) -> bool:
    """A private method (``def _helper``), or an assignment to a private attribute (``self._x = ...``)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return node.name.startswith("_") and not (node.name.startswith("__") and node.name.endswith("__"))
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return all(isinstance(t, ast.Attribute) and t.attr.startswith("_") for t in targets)
    return False


def _dropped(node: ast.stmt) -> bool:
    """A check, a guard, private plumbing, or a loop/block that holds nothing else."""
    if (isinstance(node, ast.Expr) and _is_check_call(node.value)) or _is_guard(node) or _is_private_plumbing(node):
        return True
    if isinstance(node, (ast.For, ast.While, ast.With, ast.If)):
        inner = node.body + getattr(node, "orelse", [])
        return all(_dropped(child) for child in inner)
    return False


def _walk_bodies(tree: ast.AST):
    """Every statement list (function, class and block bodies) in ``tree``."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield body


def _parents_of(tree: ast.AST, body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements that contain ``body`` (directly or further up)."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.stmt) and node not in body
            and any(child is body[0] for child in ast.walk(node))]


def source_without_checks(obj: object) -> str:
    """The source of ``obj`` (class, function or method) without its argument checks (see the module
    docstring), with a marker line where something was left out."""
    lines = textwrap.dedent(inspect.getsource(obj)).splitlines()
    raw = [line.encode() for line in lines]            # ast columns count UTF-8 bytes
    tree = ast.parse("\n".join(lines))
    # Each dropped statement: (first line, last line, indent, marker?, "..."?), 0-based lines. The first
    # dropped statement of a body gets the marker; a body left empty gets "..." to stay valid Python.
    drops: list[tuple[int, int, int, bool, bool]] = []
    replacements: list[tuple[int, int, int, int, str]] = []
    for body in _walk_bodies(tree):
        if any(_dropped(parent) for parent in _parents_of(tree, body)):
            continue                                     # inside something dropped already
        gone = [node for node in body if _dropped(node)]
        for i, node in enumerate(gone):
            start = node.lineno - 1
            if getattr(node, "decorator_list", None):
                start = min(d.lineno for d in node.decorator_list) - 1
            drops.append((start, node.end_lineno - 1, node.col_offset, i == 0, len(gone) == len(body) and i == 0))
    dropped_lines = {i for first, last, *_ in drops for i in range(first, last + 1)}
    source = "\n".join(lines)
    for node in ast.walk(tree):
        if _is_check_call(node) and node.args and node.lineno - 1 not in dropped_lines:
            value = node.args[1] if len(node.args) > 1 else node.args[0]
            text = ast.get_source_segment(source, value)
            if node.func.attr in _CONVERTING:
                text = f"{_CONVERTING[node.func.attr]}({text})"
            replacements.append((node.lineno - 1, node.col_offset, node.end_lineno - 1, node.end_col_offset, text))
    # Apply in-line replacements from the last to the first.
    for first, col, last, end_col, text in sorted(replacements, reverse=True):
        head, tail = raw[first][:col], raw[last][end_col:]
        raw[first:last + 1] = [head + text.encode() + tail]
        shift = last - first
        drops = [(a - shift if a > last else a, b - shift if b > last else b, *rest) for a, b, *rest in drops]
    out = [line.decode() for line in raw]
    for first, last, indent, marked, empty in sorted(drops, reverse=True):
        out[first:last + 1] = ([" " * indent + MARKER] if marked else []) + ([" " * indent + "..."] if empty else [])
    if (drops or replacements) and not any(line.strip() == MARKER for line in out):
        out.insert(0, MARKER)
    # Keep only the first marker of each consecutive run.
    result: list[str] = []
    for line in out:
        if line.strip() == MARKER and result and result[-1].strip() == MARKER:
            continue
        result.append(line)
    return "\n".join(result)


def show_source(*objects: object) -> None:
    """Print the source of each object without its argument checks (see ``source_without_checks``)."""
    if not objects:
        raise ValueError("show_source() needs at least one class, function or method")
    for i, obj in enumerate(objects):
        if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismethod(obj)):
            raise ValueError(f"obj={obj!r} must be a class, function or method")
        if i:
            print()
        print(source_without_checks(obj))


__all__ = ["MARKER", "show_source", "source_without_checks"]
