"""ShuffleNet V2's guidelines as benchmarks (course_utils.guidelines, benchmarks/shufflenet_guidelines.py): the
settings hold their MACs, their channels are what their names say, the verdict reads quartiles as documented,
G4's classification finds ReLU, add and BatchNorm, wrong arguments are refused by name, and the benchmark writes
a file the loader and the figures read."""
from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from course_utils import count  # noqa: E402
from course_utils.guidelines import (DEFAULT_WIDTH, DOES_NOT_HOLD, FLOPS_TOLERANCE, GUIDELINES, HOLDS,  # noqa: E402
                                     PAPER, REPEATED, WITHIN_NOISE, Bottleneck, classify_op, classify_ort_op,
                                     eager_elementwise, g1_network, g3_network, group_width, load_guideline_results,
                                     plot_elementwise_share, plot_guideline, ratio_widths, series_width, verdict,
                                     workloads)
from course_utils.runtime import Timing  # noqa: E402

SIZE = 8          # small maps: MACs scale with h·w, the checks do not depend on it
SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "shufflenet_guidelines.py"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: these networks are tiny, and a second thread only waits on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@functools.cache
def settings_of(guideline: str) -> dict:
    """``workloads(guideline, size=SIZE)``, built once for the whole module (the networks are only read)."""
    return workloads(guideline, size=SIZE)


def convs(model: nn.Module) -> list[nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


# --- fixed FLOPs ------------------------------------------------------------------------------
@pytest.mark.parametrize("guideline", ["G1", "G2", "G3", "G4"])
def test_every_setting_does_the_macs_of_the_first_within_the_tolerance(guideline):
    settings = settings_of(guideline)
    first = next(iter(settings.values()))
    for work in settings.values():
        measured = count(work.model, (1, work.in_channels, SIZE, SIZE))
        assert measured.macs == work.macs and measured.params == work.params
        assert abs(work.macs - first.macs) <= FLOPS_TOLERANCE * first.macs, work.label
    if guideline == "G4":              # removing ReLUs and the shortcut changes no MAC at all
        assert len({w.macs for w in settings.values()}) == 1


def test_the_macs_follow_the_docstring_formulas_at_the_papers_map_size():
    hw = 56 * 56
    for label, work in settings_of("G1").items():
        c1, c2 = ratio_widths(DEFAULT_WIDTH["G1"], int(label.split(":")[1]))
        assert work.macs * hw // (SIZE * SIZE) == REPEATED * 2 * hw * c1 * c2
    for label, work in settings_of("G2").items():
        g = int(label.split("=")[1])
        c = group_width(DEFAULT_WIDTH["G2"], g)
        assert work.macs == REPEATED * SIZE * SIZE * c * c // g


def test_a_width_that_cannot_hold_the_macs_is_refused_not_silently_used():
    # width 64: the best 1:12 pair (18, 216) is 5.1 % below 64² -- over the 5 % tolerance
    with pytest.raises(ValueError, match=r"width=64 .* must be within 5%"):
        workloads("G1", size=2, width=64)


# --- the channels are what the names say ---------------------------------------------------------
def test_g1_channel_ratios_are_as_named():
    for label, work in settings_of("G1").items():
        ratio = int(label.split(":")[1])
        layers = convs(work.model)
        assert len(layers) == 2 * REPEATED
        for first, second in zip(layers[::2], layers[1::2]):
            c1, c2 = first.in_channels, first.out_channels
            assert c2 == ratio * c1 and (second.in_channels, second.out_channels) == (c2, c1)
            assert first.kernel_size == (1, 1) and first.bias is None


def test_g2_group_counts_divide_the_channels_and_match_the_names():
    widths = []
    for label, work in settings_of("G2").items():
        g = int(label.split("=")[1])
        layers = convs(work.model)
        assert len(layers) == REPEATED
        for conv in layers:
            assert conv.groups == g and conv.in_channels % g == 0 and conv.out_channels % g == 0
            assert conv.in_channels == conv.out_channels == work.in_channels
        widths.append(work.in_channels)
    assert widths == sorted(widths) and len(set(widths)) == 4          # channels widen as groups grow


def test_g3_fragments_are_as_named():
    for label, work in settings_of("G3").items():
        n = int(label[0])
        assert len(convs(work.model)) == n * REPEATED
        parallel = "parallel" in label
        block = work.model[0]
        if parallel:
            assert [c.out_channels for c in convs(block)] == [work.in_channels // n] * n
        else:
            assert all(c.in_channels == c.out_channels == work.in_channels for c in convs(block))
    assert series_width(64, 4) == 32 and series_width(64, 2) == 45


def test_the_bottleneck_switches_remove_relu_and_the_shortcut():
    torch.manual_seed(0)
    x = torch.randn(1, 8, 4, 4)
    plain = Bottleneck(8, relu=False, shortcut=False)
    with_shortcut = Bottleneck(8, relu=False, shortcut=True)
    with_shortcut.load_state_dict(plain.state_dict())
    torch.testing.assert_close(with_shortcut(x), plain(x) + x)
    assert (Bottleneck(8, relu=True, shortcut=True)(x) >= 0).all()
    assert (plain(x) < 0).any()                   # without ReLU, negative outputs survive


def test_the_papers_tables_name_the_same_settings_and_say_their_units():
    for number, guideline in enumerate(GUIDELINES, start=1):
        table = PAPER[guideline]
        assert table["table"] == number
        assert "batches/sec" in table["gpu_unit"] and "images/sec" in table["arm_unit"]
        assert set(table["rows"]) == set(settings_of(guideline))
        for row in table["rows"].values():
            assert len(row["gpu"]) == 3 and len(row["arm"]) == 3
    assert PAPER["G1"]["rows"]["1:1"]["gpu"] == (1480, 723, 232)


# --- verdict --------------------------------------------------------------------------------------
def ms(q1: float, median: float, q3: float) -> dict:
    return {"q1_ms": q1, "median_ms": median, "q3_ms": q3}


def test_verdict_holds_when_the_favoured_setting_is_faster_and_the_quartiles_separate():
    assert verdict({"1:1": ms(1.0, 1.1, 1.2), "1:2": ms(5, 6, 7), "1:12": ms(1.3, 1.4, 1.5)}) == HOLDS


def test_verdict_does_not_hold_when_the_other_is_clearly_faster():
    assert verdict({"g=1": ms(2.0, 2.1, 2.2), "g=8": ms(1.0, 1.5, 1.9)}) == DOES_NOT_HOLD


def test_verdict_is_within_noise_when_the_quartiles_overlap_even_if_the_medians_differ():
    assert verdict({"a": ms(1.0, 1.1, 1.5), "b": ms(1.4, 1.6, 1.8)}) == WITHIN_NOISE
    assert verdict({"a": ms(1.0, 1.1, 1.2), "b": ms(1.2, 1.3, 1.4)}) == WITHIN_NOISE   # touching is not separated


def test_verdict_takes_timings_and_named_settings():
    fast, slow = Timing(1.0, 0.9, 1.2, 0.95, 1.05, 5), Timing(2.0, 1.9, 2.2, 1.95, 2.05, 5)
    times = {"a": slow, "b": fast, "c": slow}
    assert verdict(times) == WITHIN_NOISE
    assert verdict(times, favoured="b") == HOLDS
    assert verdict(times, favoured="a", against="b") == DOES_NOT_HOLD


# --- G4: element-wise classification ---------------------------------------------------------------
class TinyResidual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)) + x)


def test_classify_op_names_relu_add_and_batchnorm_variants():
    for name, kind in [("aten::relu", "relu"), ("aten::relu_", "relu"), ("aten::clamp_min_", "relu"),
                       ("aten::hardtanh_", "relu"),                                      # ReLU6
                       ("aten::add", "add"), ("aten::add_", "add"), ("aten::batch_norm", "batch_norm"),
                       ("aten::native_batch_norm", "batch_norm"), ("aten::conv2d", "other"),
                       ("aten::addmm", "other"), ("aten::mean", "other")]:
        assert classify_op(name) == kind, name
    assert [classify_ort_op(t) for t in ("Relu", "Clip", "Add", "FusedConv", "Conv")] == ["relu", "relu", "add",
                                                                                          "other", "other"]


def test_eager_profile_of_a_tiny_model_finds_each_elementwise_class():
    share = eager_elementwise(TinyResidual(), (1, 4, 8, 8), runs=2)
    assert all(share["by_class"][kind] > 0 for kind in ("relu", "add", "batch_norm", "other"))
    assert 0 < share["share"] < 1
    assert {"aten::conv2d", "aten::batch_norm", "aten::add", "aten::relu_"} <= set(share["by_op"])
    total = sum(share["by_class"].values())
    assert share["share"] == pytest.approx((total - share["by_class"]["other"]) / total, abs=1e-4)


# --- wrong arguments are refused by name -----------------------------------------------------------
@pytest.mark.parametrize("call, match", [
    (lambda: ratio_widths(0, 2), r"width=0 must be a positive integer"),
    (lambda: ratio_widths(32, 1.5), r"ratio=1.5 must be a positive integer"),
    (lambda: group_width(64, 0), r"groups=0 must be a positive integer"),
    (lambda: series_width(64, -1), r"fragments=-1 must be a positive integer"),
    (lambda: workloads("G5"), r"guideline='G5' must be one of"),
    (lambda: workloads("G1", size=0), r"size=0 must be a positive integer"),
    (lambda: g1_network(8, 16, blocks=0), r"blocks=0 must be a positive integer"),
    (lambda: g3_network(64, 3, "parallel"), r"fragments=3 must divide channels=64"),
    (lambda: g3_network(64, 2, "diagonal"), r"arrangement='diagonal' must be one of"),
    (lambda: Bottleneck(30, relu=True, shortcut=True), r"channels=30 must be a multiple of 4"),
    (lambda: Bottleneck(32, relu="yes", shortcut=True), r"relu='yes' must be True or False"),
    (lambda: verdict({"only": ms(1, 1, 1)}), r"times_by_setting=.* at least two settings"),
    (lambda: verdict({"a": ms(1, 2, 1.5), "b": ms(1, 1, 1)}), r"times_by_setting\['a'\]=.* q1 ≤ median ≤ q3"),
    (lambda: verdict({"a": 3.0, "b": ms(1, 1, 1)}), r"times_by_setting\['a'\]=3.0 must be a runtime.Timing"),
    (lambda: verdict({"a": ms(1, 1, 1), "b": ms(1, 1, 1)}, favoured="c"), r"favoured='c' must be one of"),
    (lambda: verdict({"a": ms(1, 1, 1), "b": ms(1, 1, 1)}, favoured="b", against="b"), r"against='b' must differ"),
    (lambda: classify_op(""), r"name='' must be a non-empty operator name"),
    (lambda: eager_elementwise(TinyResidual(), (4, 8, 8)), r"input_size=\(4, 8, 8\) must be 4 positive integers"),
    (lambda: eager_elementwise(TinyResidual(), (1, 4, 8, 8), runs=0), r"runs=0 must be a positive integer"),
    (lambda: load_guideline_results(3), r"path=3 must be a path"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- the committed file: missing, malformed, and as the benchmark writes it ------------------------------
def test_a_missing_results_file_says_which_command_makes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"is missing: run `python benchmarks/shufflenet_guidelines.py`"):
        load_guideline_results(tmp_path / "shufflenet_guidelines.json")


def test_a_malformed_results_file_says_to_rerun(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"measurements": [{"guideline": "G1"}]}))
    with pytest.raises(ValueError, match="is not a shufflenet_guidelines result"):
        load_guideline_results(path)


def load_script():
    spec = importlib.util.spec_from_file_location("shufflenet_guidelines", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_writes_a_file_the_loader_and_the_figures_read(tmp_path, capsys):
    module = load_script()
    output = tmp_path / "guidelines.json"
    result = module.main(["--size", "4", "--batches", "1", "--repeats", "3", "--inner-s", "0.0005",
                          "--threads", "1", "--lab-networks", "standard", "--output", str(output)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 4 + 4 + 5 + 4 + 2 + 1               # settings, G4's two profiles, the summary
    assert lines[-1] == json.loads(output.read_text()) == json.loads(json.dumps(result))
    assert {"command", "device", "date", "commit", "torch", "threads", "onnxruntime", "repeats", "inner_s",
            "load_average_before", "load_average_after", "verdicts", "measurements", "elementwise"} <= set(result)
    for m in result["measurements"]:
        assert set(m["runtimes"]) == {"eager", "onnxruntime"}
        for t in m["runtimes"].values():
            assert 0 < t["q1_ms"] <= t["median_ms"] <= t["q3_ms"] and t["repeats"] == 3
    assert {(v["guideline"], v["runtime"]) for v in result["verdicts"]} == {
        (g, r) for g in GUIDELINES for r in ("eager", "onnxruntime")}
    assert all(v["verdict"] in (HOLDS, DOES_NOT_HOLD, WITHIN_NOISE) for v in result["verdicts"])
    assert {(e["network"], e["runtime"]) for e in result["elementwise"]} == {
        ("standard ×1", "eager"), ("standard ×1", "onnxruntime")}
    assert all(0 <= e["share"] <= 1 for e in result["elementwise"])

    loaded = load_guideline_results(output)
    assert len(loaded.times) == 2 * (4 + 4 + 5 + 4) and loaded.provenance["threads"] == 1
    figure, axes = plt.subplots(1, 5, figsize=(25, 4))
    for ax, guideline in zip(axes, GUIDELINES):
        plot_guideline(ax, loaded, guideline)
        assert ax.get_ylim()[0] == 0 and "ms" in ax.get_ylabel() and ax.get_title()
        assert len(ax.get_legend().get_texts()) == 2
    plot_elementwise_share(axes[4], loaded)
    assert "%" in axes[4].get_ylabel()
    with pytest.raises(ValueError, match=r"batch=8 must be one of the measured batches \[1\]"):
        plot_guideline(axes[0], loaded, "G1", batch=8)
    plt.close(figure)
    for bad in (["--repeats", "2"], ["--batches", "0"], ["--guidelines", "G5"]):
        with pytest.raises(SystemExit):
            module.main(bad)
