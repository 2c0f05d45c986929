"""course_utils.benchmark_cli: the option check and the summary line shared by the timing scripts."""
from __future__ import annotations

import argparse
import json

import pytest

from course_utils.benchmark_cli import load_average, require_positive, write_summary


def parser_and_args(argv: list[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inner-s", type=float, default=0.05)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--threads", type=int, default=None)
    return parser, parser.parse_args(argv)


@pytest.mark.parametrize("argv, message", [(["--inner-s", "0"], "--inner-s=0.0 must be positive"),
                                           (["--batches", "1", "-2"], "--batches=[1, -2] must be positive"),
                                           (["--threads", "0"], "--threads=0 must be positive")])
def test_a_value_not_above_zero_exits_with_its_option_named(argv, message, capsys):
    parser, args = parser_and_args(argv)
    with pytest.raises(SystemExit) as exit_info:
        require_positive(parser, args, ("inner_s", "batches", "threads"))
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_unset_and_positive_options_pass():
    parser, args = parser_and_args(["--batches", "1", "32"])
    require_positive(parser, args, ("inner_s", "batches", "threads"))   # threads is None: unset


def test_the_summary_is_written_printed_and_carries_the_load(tmp_path, capsys):
    output = tmp_path / "sub" / "result.json"
    before = load_average()
    result = write_summary({"benchmark": "x", "measurements": [1, 2]}, output, load_before=before)
    printed = json.loads(capsys.readouterr().out)
    assert printed == result == json.loads(output.read_text())
    assert result["load_average_before"] == before and len(result["load_average_after"]) == 3
    assert result["measurements"] == [1, 2]


@pytest.mark.parametrize("arguments, match", [(([], "out.json", [0.0, 0.0, 0.0]), "result=list"),
                                              (({}, "out.json", [0.0, 0.0, 0.0]), "output='out.json'"),
                                              (({}, None, (0.0,)), "output=None")])
def test_write_summary_refuses_nonsense(arguments, match, tmp_path):
    result, output, before = arguments
    with pytest.raises(ValueError, match=match):
        write_summary(result, output, load_before=before)
    with pytest.raises(ValueError, match="load_before"):
        write_summary({}, tmp_path / "r.json", load_before=[1.0])
