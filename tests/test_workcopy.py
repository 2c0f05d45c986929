"""Working copies of the notebooks (course_utils.workcopy): a student's work survives a course update, the
presenter starts each class from a fresh copy, and nothing is ever written into the course folder."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_utils import workcopy


def notebook(text: str) -> str:
    return json.dumps({"cells": [{"cell_type": "markdown", "source": text}], "nbformat": 4, "nbformat_minor": 5,
                       "metadata": {}})


@pytest.fixture
def course(tmp_path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "01_first.ipynb").write_text(notebook("one"))
    (folder / "02_second.ipynb").write_text(notebook("two"))
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_sync_copies_updates_untouched_copies_and_keeps_the_students_work(course, tmp_path):
    mine = tmp_path / "my-notebooks"
    assert workcopy.sync(course, mine).copied == ["01_first.ipynb", "02_second.ipynb"]
    assert workcopy.sync(course, mine) == workcopy.SyncReport()  # nothing new
    (mine / "02_second.ipynb").write_text(notebook("two, with my answer"))
    (course / "01_first.ipynb").write_text(notebook("one, version 2"))   # a course update (git pull)
    (course / "02_second.ipynb").write_text(notebook("two, version 2"))
    (course / "03_third.ipynb").write_text(notebook("three"))
    before = snapshot(course)
    report = workcopy.sync(course, mine)
    assert (report.copied, report.updated, report.kept) == (["03_third.ipynb"], ["01_first.ipynb"],
                                                            ["02_second.ipynb"])
    assert (mine / "01_first.ipynb").read_text() == notebook("one, version 2")
    assert (mine / "02_second.ipynb").read_text() == notebook("two, with my answer")
    assert any("make update NB=02" in line for line in report.lines(mine))
    assert snapshot(course) == before
    kept = workcopy.update("02", course, mine)
    assert (mine / "02_second.ipynb").read_text() == notebook("two, version 2")
    assert kept.read_text() == notebook("two, with my answer") and kept.name.startswith("02_second-mine-")
    assert workcopy.sync(course, mine) == workcopy.SyncReport()


def test_update_refuses_a_name_that_is_not_one_notebook(course, tmp_path):
    with pytest.raises(ValueError, match="name='9' must name one notebook"):
        workcopy.update("9", course, tmp_path / "mine")


def test_present_makes_a_fresh_copy_and_keeps_the_previous_class_once(course, tmp_path):
    copy = tmp_path / "build" / "presenter" / "notebooks"
    workcopy.present(course, copy)
    (copy / "01_first.ipynb").write_text(notebook("saved during class 1"))
    workcopy.present(course, copy)
    assert (copy / "01_first.ipynb").read_text() == notebook("one")
    previous = copy.with_name("notebooks.previous")
    assert (previous / "01_first.ipynb").read_text() == notebook("saved during class 1")
    workcopy.present(course, copy)
    assert (previous / "01_first.ipynb").read_text() == notebook("one")  # only the last class is kept


def test_the_presenter_workspace_opens_the_first_notebook_alone():
    layout = workcopy.workspace("01_first.ipynb")["data"]["layout-restorer:data"]
    assert layout["main"]["dock"]["widgets"] == ["notebook:01_first.ipynb"]
    assert layout["left"]["collapsed"] and layout["right"]["collapsed"]


def test_the_command_line_syncs_and_updates(course, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(workcopy, "COURSE", course)
    mine = tmp_path / "mine"
    assert workcopy.main(["sync", "--to", str(mine)]) == 0
    assert "copied 01_first.ipynb" in capsys.readouterr().out
    assert workcopy.main(["update", "01", "--to", str(mine)]) == 0
    assert "took the course version of 01" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        workcopy.main(["update", "07", "--to", str(mine)])
