"""environment.yml (conda) and pyproject.toml (pip) list the same packages and bounds, and the installed
packages satisfy them."""
from __future__ import annotations

import importlib.metadata
import re
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda package name -> pip package name


def requirement(spec: str) -> tuple[str, str]:
    name, bound = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec).groups()
    return name.lower().replace("_", "-"), bound.replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + [s for extra in project["optional-dependencies"].values() for s in extra]
    return dict(requirement(s) for s in specs)


def conda_requirements() -> dict[str, str]:
    text = (ROOT / "environment.yml").read_text()
    block = text.split("dependencies:", 1)[1]
    specs = [line.strip()[2:] for line in block.splitlines()
             if re.match(r"^  - [A-Za-z]", line)]  # top-level conda entries only (not the pip: list)
    names = dict(requirement(s) for s in specs)
    names.pop("python", None)
    names.pop("pip", None)
    return {CONDA_NAMES.get(name, name): bound for name, bound in names.items()}


def test_environment_yml_and_pyproject_list_the_same_packages():
    assert conda_requirements() == pyproject_requirements()


def test_installed_packages_satisfy_the_pyproject_bounds():
    """Every package pyproject.toml requires is installed here at a version its bound admits
    (optional extras only when installed), so a bound raised past what the course runs on fails here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [s for extra in project["optional-dependencies"].values() for s in extra]
    outside = []
    for spec in project["dependencies"] + extras:
        req = Requirement(spec)
        try:
            installed = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            if spec in extras:
                continue
            outside.append(f"{req.name} is not installed")
            continue
        if not req.specifier.contains(Version(installed), prereleases=True):
            outside.append(f"{req.name} {installed} is outside {req.specifier}")
    assert not outside, "; ".join(outside)
