"""Notebooks are documents: stored outputs are from one clean top-to-bottom run, with no
machine-specific paths (nbval then checks the outputs themselves). Students read them: no internal
references, no empty placeholder sections, no argument checks in source displays, a main path that
fits a lecture with its references, and exercises whose solutions are never executed."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MACHINE_PATH = re.compile(r"(/work/|/tmp/|/root/|/home/\w+/|/Users/\w+/|\.\./shared/|[A-Z]:\\\\Users)")
INTERNAL_REFERENCE = re.compile(r"facts\.md|the issue|issue asks", re.IGNORECASE)
EMPTY_PLACEHOLDER = re.compile(r"nothing to show|no gpu results yet", re.IGNORECASE)
IGNORE_OUTPUT_MARKER = re.compile(r"#\s*NBVAL_(IGNORE_OUTPUT|SKIP)")
OPT_OUT_TAGS = {"nbval-ignore-output", "nbval-skip"}
MAIN_PATH_WORDS = 1250
CHECKER = re.compile(r"check(_\w+)?$")


def cells_of(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def code_cells(path: Path) -> list[dict]:
    return [c for c in cells_of(path) if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def output_texts(cell: dict) -> list[str]:
    """Everything a code cell displays as text: streams, plain text, HTML, error tracebacks."""
    texts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            texts.append("".join(output["text"]))
        for kind in ("text/plain", "text/html", "text/markdown"):
            if kind in output.get("data", {}):
                texts.append("".join(output["data"][kind]))
        texts.extend(output.get("traceback", []))
    return texts


def main_path(path: Path) -> list[dict]:
    """The markdown cells before the '## Going further' appendix (all of them if there is none)."""
    cells = cells_of(path)
    end = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                and source(c).lstrip().startswith("## Going further")), len(cells))
    return [c for c in cells[:end] if c["cell_type"] == "markdown"]


def python_of(cell: dict) -> ast.Module:
    """The cell's code as Python (IPython magics and shell escapes dropped)."""
    lines = [line for line in source(cell).splitlines() if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no NN_*.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_execution_counts_read_1_to_n(path):
    counts = [c["execution_count"] for c in code_cells(path)]
    assert counts == list(range(1, len(counts) + 1)), f"re-run {path.name} top to bottom in a fresh kernel"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_error_outputs_and_no_machine_paths(path):
    cells = code_cells(path)
    assert not [o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    found = MACHINE_PATH.search(json.dumps(cells_of(path)))
    assert found is None, f"machine-specific path {found.group(0)!r} in {path.name}"


def opts_out(cell: dict) -> bool:
    """A cell nbval does not compare: an nbval tag in its metadata, or a (legacy) marker comment."""
    tags = set(cell.get("metadata", {}).get("tags", []))
    return bool(tags & OPT_OUT_TAGS) or IGNORE_OUTPUT_MARKER.search(source(cell)) is not None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_few_cells_opt_out_of_output_checking(path):
    cells = code_cells(path)
    opted_out = [c for c in cells if opts_out(c)]
    assert len(opted_out) <= 0.3 * len(cells), f"{len(opted_out)}/{len(cells)} cells opt out of nbval"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbval_opt_outs_are_metadata_tags_not_comments(path):
    marked = [source(c).splitlines()[0] for c in code_cells(path) if IGNORE_OUTPUT_MARKER.search(source(c))]
    assert not marked, (f"{path.name}: {len(marked)} code cell(s) carry an NBVAL comment; move it to the "
                        f"cell's metadata tags ('nbval-ignore-output'): {marked}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_internal_references(path):
    found = sorted({m.group(0) for m in INTERNAL_REFERENCE.finditer(path.read_text())})
    assert not found, f"{path.name} mentions {found}: students have neither facts.md nor the issues"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_empty_placeholder_sections(path):
    found = [text for cell in cells_of(path) for text in [source(cell), *output_texts(cell)]
             if EMPTY_PLACEHOLDER.search(text)]
    assert not found, f"{path.name} shows an empty section ('nothing to show'): delete it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_source_displays_show_no_argument_checks(path):
    shown = [text for cell in code_cells(path) for text in output_texts(cell) if "checks." in text]
    assert not shown, (f"{path.name} displays source with argument checks (`checks.`): show the idea "
                       f"only (course_utils.show): {shown[0][:200]!r}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_main_path_fits_a_lecture(path):
    words = sum(len(source(c).split()) for c in main_path(path))
    assert words <= MAIN_PATH_WORDS, (f"{path.name}: {words} words before '## Going further' (at most "
                                      f"{MAIN_PATH_WORDS}): move deep dives to the Going further appendix")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ends_with_references(path):
    headings = [source(c).lstrip() for c in cells_of(path) if c["cell_type"] == "markdown"]
    assert any(h.startswith("## References") for h in headings), f"{path.name} has no '## References' section"


def checker_calls(path: Path) -> list[tuple[str, ast.Call]]:
    calls = []
    for cell in code_cells(path):
        for node in ast.walk(python_of(cell)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and CHECKER.fullmatch(node.func.id)):
                calls.append((source(cell), node))
    return calls


def assigned_values(path: Path, name: str) -> list[ast.expr]:
    """Every value the notebook's code cells assign to ``name`` (``x = ...``, ``x: T = ...``, and
    ``x, y = a, b`` element by element)."""
    values = []
    for cell in code_cells(path):
        for node in ast.walk(python_of(cell)):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
                values.append(node.value)
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    values.append(node.value)
                elif isinstance(target, ast.Tuple):
                    names = [t.id if isinstance(t, ast.Name) else None for t in target.elts]
                    if name in names:
                        same_shape = isinstance(node.value, ast.Tuple) and len(node.value.elts) == len(names)
                        values.append(node.value.elts[names.index(name)] if same_shape else node.value)
    return values


def stub_definitions(path: Path, name: str) -> list[bool]:
    """For each class or function called ``name`` in the notebook (a build-it exercise's answer):
    True if it is still a stub, i.e. it raises NotImplementedError somewhere."""
    found = []
    for cell in code_cells(path):
        for node in ast.walk(python_of(cell)):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name == name:
                found.append(any(isinstance(inner, ast.Raise) and inner.exc is not None
                                 and "NotImplementedError" in ast.unparse(inner.exc) for inner in ast.walk(node)))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_checker_is_defined_in_the_notebook(path):
    defined = [node.name for cell in code_cells(path) for node in ast.walk(python_of(cell))
               if isinstance(node, ast.FunctionDef) and CHECKER.fullmatch(node.name)]
    assert not defined, f"{path.name} defines {defined}: graders live in course_utils.exercises"


def is_variable(argument: ast.expr) -> bool:
    """A name, an attribute, an item or a call's result, or None; not a number, string or expression."""
    if isinstance(argument, ast.Constant):
        return argument.value is None
    return isinstance(argument, (ast.Name, ast.Attribute, ast.Subscript, ast.Call))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_solution_is_executed(path):
    """Checkers get the student's answer variable, never a literal; every answer cell holds None (or,
    for a build-it exercise, a class or function stub that raises NotImplementedError)."""
    problems = []
    for text, call in checker_calls(path):
        name = call.func.id
        literal = [ast.unparse(a) for a in [*call.args, *(k.value for k in call.keywords)]
                   if not is_variable(a)]
        if literal:
            problems.append(f"{name}() is given a literal answer: {literal}")
            continue
        if not call.args or not isinstance(call.args[0], ast.Name):
            problems.append(f"{name}() must take the answer variable as its first argument: {ast.unparse(call)}")
            continue
        answer = call.args[0].id
        values, stubs = assigned_values(path, answer), stub_definitions(path, answer)
        if stubs and not values:
            if not all(stubs):
                problems.append(f"{answer} (checked by {name}) is a finished solution: leave it a stub "
                                "that raises NotImplementedError")
            continue
        if not values or not all(isinstance(v, ast.Constant) and v.value is None for v in values):
            problems.append(f"{answer} (checked by {name}) must be assigned None only, not "
                            f"{[ast.unparse(v) for v in values] or 'never assigned'}")
    assert not problems, f"{path.name}: " + "; ".join(problems)


def imported_names(tree: ast.Module) -> set[str]:
    return {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            for alias in node.names}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_skipping_an_exercise_never_breaks_the_next(path):
    """Each checker is imported by the cell that calls it, or by a cell that checks nothing: a student who
    skips one exercise's check cell can still run the next one (no NameError)."""
    trees = [python_of(cell) for cell in code_cells(path)]
    calls = [{node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Name) and CHECKER.fullmatch(node.func.id)} for tree in trees]
    shared = set().union(*(imported_names(tree) for tree, called in zip(trees, calls) if not called))
    missing = sorted(name for tree, called in zip(trees, calls) for name in called
                     if name not in imported_names(tree) | shared)
    assert not missing, (f"{path.name}: {missing} are imported only by another exercise's check cell: "
                         "import each checker where it is called")
