"""course_utils.fingerprint: what the key of a stored run reads, and what it leaves out."""
from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import inspect
import linecache
import pkgutil
from pathlib import Path

import pytest
import torch
from torch import nn

import course_utils
from course_utils import fingerprint
from course_utils.fingerprint import code_key, key_neutral, label, model_classes, normalised_source

REPO = Path(__file__).resolve().parents[1]


class Cell:
    """Code compiled from text that ``inspect`` can read back, like a notebook cell (see test_runs.py)."""

    def __init__(self) -> None:
        self.namespace = {"__name__": "__main__", "nn": nn, "torch": torch, "functools": functools,
                          "dataclasses": dataclasses}
        self.count = 0

    def run(self, source: str) -> dict:
        self.count += 1
        filename = f"<fingerprint cell {id(self)}-{self.count}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        exec(compile(source, filename, "exec"), self.namespace)
        return self.namespace


def key_of(*roots) -> fingerprint.CodeKey:
    return code_key({"model": list(roots)})


def test_comments_docstrings_and_blank_lines_do_not_count_but_any_code_does():
    base = 'def helper(x):\n    return x + 1\n'
    commented = '# a comment\ndef helper(x):\n    """A docstring."""\n\n    return x + 1   # same\n'
    assert normalised_source(base) == normalised_source(commented) == "def helper(x):\n    return x + 1"
    assert normalised_source(base) != normalised_source(base.replace("x + 1", "x + 2"))
    moved = 'def f(a):\n    if a:\n        g()\n    h()\n'
    assert normalised_source(moved) != normalised_source(moved.replace("    h()", "        h()"))   # indentation


def test_the_key_is_text_so_it_is_the_same_on_every_python_version():
    """No ast.dump, no bytecode: a hash of the normalised text (ast.dump changes between Python versions)."""
    source = inspect.getsource(fingerprint._Reader._function)
    assert "ast.dump" not in source and "co_code" not in inspect.getsource(fingerprint)


def test_a_class_is_read_by_its_own_namespace_and_bases():
    cell = Cell()
    cell.run("class Base(nn.Module):\n    def forward(self, x):\n        return x\n")
    cell.run("class Net(Base):\n    gain = 2.0\n    def __init__(self):\n        super().__init__()\n")
    key = key_of(cell.namespace["Net"])
    assert {"Net (__main__)", "Net.__init__ (__main__)", "Base (__main__)", "Base.forward (__main__)"} <= set(key.hashes)
    assert not any(name.startswith(("Module", "Conv2d")) for name in key.hashes)      # torch by name only
    before = dict(key.hashes)
    cell.run("class Net(Base):\n    gain = 3.0\n    def __init__(self):\n        super().__init__()\n")
    assert key_of(cell.namespace["Net"]).hashes["Net (__main__)"] != before["Net (__main__)"]


def test_globals_closures_defaults_and_local_imports_are_read():
    cell = Cell()
    cell.run("SCALE = 2\ndef helper(x):\n    return SCALE * x\n"
             "def outer(k=3):\n    def inner(x):\n        return helper(x) + k\n    return inner\n"
             "def importer(x):\n    from course_utils.checks import positive_int\n    return positive_int('x', x)\n")
    hook = cell.namespace["outer"](5)
    key = code_key({"hook": hook, "other": cell.namespace["importer"]})
    assert "helper (__main__)" in key.hashes and "positive_int (course_utils.checks)" in key.hashes
    assert code_key({"hook": cell.namespace["outer"](6)}).hashes != code_key({"hook": hook}).hashes
    helper_before = key.hashes["helper (__main__)"]
    cell.run("SCALE = 3\n")
    assert code_key({"hook": hook}).hashes["helper (__main__)"] != helper_before


def test_type_hints_change_nothing():
    cell = Cell()
    cell.run("def f(x: 'Thing') -> 'Other':\n    return x\n")
    key = code_key({"f": cell.namespace["f"]})
    assert set(key.hashes) == {"f (__main__)", "f:"} and key.complete


def test_a_registry_is_noted_not_read_so_adding_an_entry_stales_nothing():
    cell = Cell()
    cell.run("def a(x):\n    return x\nREGISTRY = {'a': a}\n"
             "class Net(nn.Module):\n    def __init__(self, name='a'):\n        super().__init__()\n"
             "        self.f = REGISTRY[name]\n")
    before = key_of(cell.namespace["Net"]).hashes
    cell.namespace["REGISTRY"]["b"] = lambda x: 2 * x
    assert key_of(cell.namespace["Net"]).hashes == before and "a (__main__)" not in before


def test_an_lru_cache_and_a_dataclass_are_read_through():
    cell = Cell()
    cell.run("@functools.lru_cache\ndef cached(n):\n    return n + 1\n"
             "@dataclasses.dataclass(frozen=True)\nclass Config:\n    size: int = 3\n"
             "def use(x):\n    return cached(x) + Config().size\n")
    key = code_key({"f": cell.namespace["use"]})
    assert key.complete and {"cached (__main__)", "Config (__main__)"} <= set(key.hashes)


def test_what_cannot_be_read_makes_the_key_unknown():
    namespace = {"nn": nn}
    exec("def f(x):\n    return x\n", namespace)               # no source anywhere
    assert "its source cannot be read" in code_key({"f": namespace["f"]}).unknown[0]
    cell = Cell()
    cell.run("LAYER = nn.Linear(2, 2)\ndef g(x):\n    return LAYER(x)\n")     # a module's state: not a value
    unknown = code_key({"g": cell.namespace["g"]}).unknown
    assert unknown and "Linear" in unknown[0]


def test_the_lab_models_keys_are_complete_and_read_only_their_own_code():
    from course_utils.experiments import lab_model

    standard = key_of(*model_classes(lab_model("standard", 0.25)))
    assert standard.complete
    assert not any("Fire" in name or "ShiftAttention" in name for name in standard.hashes)
    shift = key_of(*model_classes(lab_model("shift", 0.5)))
    assert shift.complete and shift.hashes["shift_planes (course_utils.layers.shift_native)"].startswith("key-neutral")


def _key_neutral_functions() -> list:
    found = []
    for module_info in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
        module = importlib.import_module(module_info.name)
        found += [value for value in vars(module).values()
                  if callable(value) and getattr(value, "__key_neutral__", None)
                  and getattr(value, "__module__", "") == module.__name__]
    return found


def test_every_key_neutral_function_names_a_test_that_exists():
    functions = _key_neutral_functions()
    assert {f.__name__ for f in functions} >= {"available", "shift_planes"}
    for function in functions:
        path, name = function.__key_neutral__.split("::")
        tree = ast.parse((REPO / path).read_text())
        assert name in {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}, \
            f"{label(function)} names {function.__key_neutral__}, which does not exist"


def test_key_neutral_refuses_a_proof_that_is_not_a_test():
    with pytest.raises(ValueError, match="proof='trust me' must name a test"):
        key_neutral("trust me")


def test_course_code_is_read_as_imported_not_as_on_disk(monkeypatch):
    """A file edited after import: the key reads the imported text and says that the disk differs."""
    from course_utils.layers.fire import Fire

    path = Path(Fire.forward.__code__.co_filename).resolve()
    imported = fingerprint.IMPORTED_SOURCES[path]
    monkeypatch.setitem(fingerprint.IMPORTED_SOURCES, path, imported.replace("return torch.cat", "return 1 * torch.cat"))
    fingerprint._SOURCES.clear()
    try:
        key = key_of(Fire)
    finally:
        fingerprint._SOURCES.clear()
    assert any("Fire.forward in course_utils/layers/fire.py changed on disk" in reason for reason in key.unknown)
    monkeypatch.undo()
    fingerprint._SOURCES.clear()
    assert key_of(Fire).complete


def test_registering_a_block_stales_no_run():
    """register_block fills a registry that BaselineCNN reads when it is built: the key notes the registry,
    empty or not, so a student's own block does not stale the committed runs."""
    from course_utils.experiments import lab_model
    from course_utils.layers.conv_bn import conv_bn_act
    from course_utils.models.baseline import REGISTERED_BLOCKS, register_block

    before = key_of(*model_classes(lab_model("standard", 0.25))).hashes
    register_block("mine", lambda c_in, c_out, stride: conv_bn_act(c_in, c_out, 3, stride))
    try:
        assert key_of(*model_classes(lab_model("standard", 0.25))).hashes == before
    finally:
        del REGISTERED_BLOCKS["mine"]


def test_installed_code_is_named_by_its_package_so_another_version_keeps_the_key():
    """Where torch keeps a class (torch.nn.modules.conv) or Python a function may move between versions: the
    key names them by package. Dunder attributes that Python itself sets (``__firstlineno__`` in 3.13...) and
    an installed module's own attributes are not read either."""
    assert label(nn.Conv2d) == "Conv2d (torch)" and label(torch.randperm) == "randperm (torch)"
    assert label(code_key) == "code_key (course_utils.fingerprint)"
    cell = Cell()
    cell.run("class Net(nn.Module):\n    def forward(self, x):\n        return x\n")
    net = cell.namespace["Net"]
    before = key_of(net).hashes
    net.__firstlineno__ = 99                          # what Python 3.13 adds to every class
    net.__static_attributes__ = ("x",)
    assert key_of(net).hashes == before


def _marked(proof: str) -> list[tuple[type | None, str, object]]:
    """(class or None, name, function) of every function and method of course_utils marked with ``proof``."""
    found = []
    for module_info in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(value):
                found += [(value, attr, member) for attr, member in vars(value).items()
                          if getattr(member, "__key_neutral__", None) == proof]
            elif getattr(value, "__key_neutral__", None) == proof:
                found.append((None, name, value))
    return found


def test_code_marked_unused_by_training_is_never_called(monkeypatch):
    """The proof behind ``UNUSED_BY_TRAINING``: with every function so marked (analytic costs, deployment forms)
    made to raise, every kind of committed run trains, hooks and final measure included."""
    from course_utils import TrainConfig, load_cifar10, train
    from course_utils.experiments import catalog

    marked = _marked(fingerprint.UNUSED_BY_TRAINING)
    assert {f"{cls.__name__}.{name}" for cls, name, _ in marked if cls} >= {
        "Fire.cost", "ShiftAttentionConv2d.to_shift", "ShiftAttentionConv2d.memory_words", "Shift2d.cost"}

    def refuse(*args, **kwargs):
        raise AssertionError("training called code marked unused by training")

    for cls, name, _ in marked:
        if cls is not None:
            monkeypatch.setattr(cls, name, refuse)
    data = load_cifar10().subset(train=256, test=64)
    specs = [catalog.family_specs("lab", variants=[variant], seeds=(0,))[0] for variant in catalog.LAB]
    specs += [catalog.spec("nb06_sal_frozen"), catalog.spec("nb06_sal_shared"), catalog.spec("nb03_squeezenet_cifar")]
    for spec in specs:
        model = spec.build()
        result = train(model, data, TrainConfig(epochs=1, batch_size=128, progress=False, precision="fp32"),
                       hooks=spec.hooks())
        assert len(result.history) == 1, spec.name
