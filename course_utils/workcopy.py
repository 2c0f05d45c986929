"""Working copies of the notebooks: JupyterLab never writes into the tracked ``notebooks/``.

- **Students** (``make lab``): ``my-notebooks/`` (git-ignored) holds your copy of every notebook. ``sync``
  copies the notebooks you do not have yet, and replaces a copy you never changed when the course changed it;
  a copy with your work in it is never overwritten: it is reported, and ``update NAME`` takes the new course
  version, keeping yours next to it as ``NAME-mine-<date>.ipynb``. So ``git pull`` never touches your work.
- **Instructors** (``make present``): ``present`` makes a fresh copy in ``build/presenter/notebooks/`` at every
  start, so autosave, Ctrl+S and live runs write there, never into ``notebooks/``. The copy of the previous
  start (with whatever was saved during that class) is kept once, as ``build/presenter/notebooks.previous/``.

Which course version a copy was made from is recorded in ``<copy folder>/.course-versions.json`` (a SHA-256
per notebook). Run as ``python -m course_utils.workcopy sync|present|update NAME``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COURSE = REPO / "notebooks"
STUDENT_COPY = REPO / "my-notebooks"
PRESENTER_COPY = REPO / "build" / "presenter" / "notebooks"
VERSIONS = ".course-versions.json"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _course_notebooks(course: Path) -> list[Path]:
    if not course.is_dir():
        raise ValueError(f"course={str(course)!r} must be a folder of notebooks")
    return sorted(course.glob("*.ipynb"))


def _read_versions(copy: Path) -> dict[str, str]:
    path = copy / VERSIONS
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _write_versions(copy: Path, versions: dict[str, str]) -> None:
    (copy / VERSIONS).write_text(json.dumps(versions, indent=1, sort_keys=True) + "\n", encoding="utf-8")


@dataclass
class SyncReport:
    """What ``sync`` did: notebooks copied, updated to the new course version, and left alone because they hold
    your work although the course changed them."""

    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def lines(self, copy: Path) -> list[str]:
        out = [f"{copy.name}/: copied {name} (new)" for name in self.copied]
        out += [f"{copy.name}/: updated {name} to the new course version (your copy was unchanged)"
                for name in self.updated]
        out += [f"{copy.name}/{name} holds your work and the course has a new version: "
                f"`make update NB={name[:2]}` takes it and keeps yours as {Path(name).stem}-mine-<date>.ipynb"
                for name in self.kept]
        return out


def sync(course: Path = COURSE, copy: Path = STUDENT_COPY) -> SyncReport:
    """Bring ``copy`` up to date with ``course`` without losing work: copy the missing notebooks, update the
    copies nobody changed, keep (and report) the changed ones. Never deletes anything."""
    copy.mkdir(parents=True, exist_ok=True)
    versions, report = _read_versions(copy), SyncReport()
    for source in _course_notebooks(course):
        target, course_version = copy / source.name, _digest(source)
        if not target.exists():
            shutil.copyfile(source, target)
            report.copied.append(source.name)
        elif versions.get(source.name) == course_version:
            continue  # the course has not changed it since it was copied
        elif source.name in versions and _digest(target) == versions[source.name]:
            shutil.copyfile(source, target)  # unchanged by the student: nothing to lose
            report.updated.append(source.name)
        elif _digest(target) == course_version:
            pass  # same bytes: just record the version below
        else:
            report.kept.append(source.name)
            continue
        versions[source.name] = course_version
    _write_versions(copy, versions)
    return report


def update(name: str, course: Path = COURSE, copy: Path = STUDENT_COPY) -> Path | None:
    """Take the course version of notebook ``name`` (its file name, or its number: ``"02"``) into ``copy``;
    the copy it replaces, if different, is kept as ``<stem>-mine-<YYYYmmdd-HHMMSS>.ipynb``. Returns that path."""
    matches = [p for p in _course_notebooks(course) if p.name == name or p.name.startswith(f"{name}_")]
    if len(matches) != 1:
        raise ValueError(f"name={name!r} must name one notebook of {course}: its file name or its number "
                         f"(one of {[p.name[:2] for p in _course_notebooks(course)]})")
    source = matches[0]
    copy.mkdir(parents=True, exist_ok=True)
    target, kept = copy / source.name, None
    if target.exists() and _digest(target) != _digest(source):
        kept = copy / f"{source.stem}-mine-{time.strftime('%Y%m%d-%H%M%S')}.ipynb"
        target.replace(kept)
    shutil.copyfile(source, target)
    versions = _read_versions(copy)
    versions[source.name] = _digest(source)
    _write_versions(copy, versions)
    return kept


def present(course: Path = COURSE, copy: Path = PRESENTER_COPY) -> Path:
    """A fresh copy of every course notebook in ``copy`` (what ``make present`` serves). The copy of the previous
    start is kept, once, as ``<copy>.previous``; an older one is deleted."""
    notebooks = _course_notebooks(course)
    previous = copy.with_name(copy.name + ".previous")
    if copy.exists():
        if previous.exists():
            shutil.rmtree(previous)
        copy.replace(previous)
    copy.mkdir(parents=True)
    for source in notebooks:
        shutil.copyfile(source, copy / source.name)
    _write_versions(copy, {p.name: _digest(p) for p in notebooks})
    return copy


def workspace(first_notebook: str) -> dict:
    """A JupyterLab workspace that shows ``first_notebook`` alone: no file browser, no side panels."""
    widget = f"notebook:{first_notebook}"
    return {"data": {"layout-restorer:data": {
                "main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": [widget]}, "current": widget},
                "left": {"collapsed": True, "visible": True, "widgets": []},
                "right": {"collapsed": True, "visible": True, "widgets": []},
                "down": {"size": 0, "widgets": []},
                "relativeSizes": [0, 1, 0], "top": {"simpleVisibility": True}},
             widget: {"data": {"path": first_notebook, "factory": "Notebook"}}},
            "metadata": {"id": "default"}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.workcopy", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_sync = sub.add_parser("sync", help="bring my-notebooks/ up to date without losing work (make lab)")
    p_sync.add_argument("--to", type=Path, default=STUDENT_COPY)
    p_update = sub.add_parser("update", help="take a notebook's new course version (make update NB=02)")
    p_update.add_argument("name", help="the notebook's number (02) or file name")
    p_update.add_argument("--to", type=Path, default=STUDENT_COPY)
    p_present = sub.add_parser("present", help="a fresh presenter copy (make present)")
    p_present.add_argument("--to", type=Path, default=PRESENTER_COPY)
    p_present.add_argument("--workspace", type=Path, help="also write a workspace JSON that opens the first "
                                                          "notebook alone")
    args = parser.parse_args(argv)
    if args.command == "sync":
        for line in sync(COURSE, args.to).lines(args.to):
            print(line)
    elif args.command == "update":
        try:
            kept = update(args.name, COURSE, args.to)
        except ValueError as error:
            parser.error(str(error))
        print(f"{args.to.name}/: took the course version of {args.name}"
              + (f"; yours is kept as {kept.name}" if kept else ""))
    else:
        copy = present(COURSE, args.to)
        if args.workspace is not None:
            first = min(p.name for p in copy.glob("*.ipynb"))
            args.workspace.write_text(json.dumps(workspace(first), indent=1), encoding="utf-8")
        print(f"make present: serving a fresh copy of notebooks/ in {copy} (saves go there, never into notebooks/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
