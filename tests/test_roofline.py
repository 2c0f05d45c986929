"""course_utils.roofline: the verdicts are a function of measured numbers only (tested on synthetic ones), the
bytes and FLOPs model is the one stated, and the measuring functions return rates (no timing is asserted)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from torch import nn  # noqa: E402

from course_utils.roofline import (COMPUTE_BOUND, KERNEL_BOUND, MEMORY_BOUND, Roofs, Workload, classify,  # noqa: E402
                                   load_roofline_results, measure_roofs, plot_roofline, workload)

ROOFS = Roofs(bandwidth_gbs=10.0, peak_gflops=100.0, threads=2, copy_megabytes=16)


@pytest.mark.parametrize("work,seconds,factor,verdict", [
    (Workload(flops=10**9, bytes=10**9), 0.15, 2.0, MEMORY_BOUND),       # 6.7 GB/s ≥ 10 / 2
    (Workload(flops=10**9, bytes=10**9), 0.25, 2.0, KERNEL_BOUND),       # 4 GB/s, 4 GFLOP/s: far below both
    (Workload(flops=10**9, bytes=10**9), 0.25, 4.0, MEMORY_BOUND),       # a looser factor: 4 ≥ 10 / 4
    (Workload(flops=10**10, bytes=10**8), 0.15, 2.0, COMPUTE_BOUND),     # 66.7 GFLOP/s ≥ 100 / 2
    (Workload(flops=10**10, bytes=10**8), 0.25, 2.0, KERNEL_BOUND),      # 40 GFLOP/s < 50
    (Workload(flops=0, bytes=10**9), 0.1, 2.0, MEMORY_BOUND),            # a copy: no FLOPs at all
    (Workload(flops=8 * 10**9, bytes=10**9), 0.12, 2.0, MEMORY_BOUND),   # near both: 8.3 GB/s is nearer its roof
    (Workload(flops=9 * 10**9, bytes=6 * 10**8), 0.1, 2.0, COMPUTE_BOUND),  # near both: 90 GFLOP/s is nearer
])
def test_the_verdict_follows_the_measured_rates(work, seconds, factor, verdict):
    assert classify(work, seconds, ROOFS, factor=factor) == verdict


def test_the_roofs_meet_at_the_ridge():
    assert ROOFS.ridge == 10.0
    assert ROOFS.attainable_gflops(1.0) == 10.0 and ROOFS.attainable_gflops(100.0) == 100.0


def test_the_bytes_model_is_weights_input_and_output_once():
    c, h, n = 16, 8, 4
    work = workload(nn.Conv2d(c, c, 3, padding=1, bias=False), (n, c, h, h))
    assert work.flops == 2 * 9 * c * c * h * h * n
    assert work.bytes == 4 * (9 * c * c + 2 * n * c * h * h)
    assert work.intensity == work.flops / work.bytes


def test_measuring_returns_rates():
    roofs = measure_roofs(copy_megabytes=1, matmul_size=64, repeats=1)
    assert roofs.bandwidth_gbs > 0 and roofs.peak_gflops > 0 and roofs.threads >= 1


def test_the_figure_places_operators_with_flops_and_returns_every_verdict():
    figure, ax = plt.subplots()
    points = {"conv": (Workload(10**10, 10**8), 0.15), "copy": (Workload(0, 10**9), 0.1)}
    verdicts = plot_roofline(ax, ROOFS, points, main_memory_gbs=5.0)
    assert verdicts == {"conv": COMPUTE_BOUND, "copy": MEMORY_BOUND}
    assert [t.get_text() for t in ax.texts] == ["conv"]              # a copy has no place on a log axis
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and ax.get_title()
    plt.close(figure)


@pytest.mark.parametrize("call,message", [
    (lambda: classify(Workload(1, 1), 0.0, ROOFS), "seconds=0.0"),
    (lambda: classify(Workload(1, 1), 1.0, ROOFS, factor=0.5), "factor=0.5 must be at least 1"),
    (lambda: classify((1, 1), 1.0, ROOFS), "must be a Workload"),
    (lambda: classify(Workload(1, 1), 1.0, (10, 100)), "must be a Roofs"),
    (lambda: Roofs(bandwidth_gbs=-1.0, peak_gflops=1.0, threads=1, copy_megabytes=1), "bandwidth_gbs=-1.0"),
    (lambda: ROOFS.attainable_gflops(-1), "intensity=-1 must be a number ≥ 0"),
    (lambda: measure_roofs(copy_megabytes=0), "megabytes=0"),
    (lambda: workload("conv", (1, 3, 8, 8)), "model=str must be a torch.nn.Module"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_committed_verdicts_follow_from_the_committed_numbers():
    committed = load_roofline_results()
    assert {"command", "device", "date", "commit"} <= set(committed.provenance)
    assert committed.roofs.bandwidth_gbs > 0 and committed.main_memory_gbs > 0
    for row in committed.points.itertuples():
        work = Workload(int(row.flops), int(row.bytes))
        assert classify(work, row.median_ms / 1e3, committed.roofs, factor=committed.factor) == row.verdict, row.name
    for set_name in ("layers", "networks"):
        assert set(committed.workloads(set_name, "eager")) >= set(committed.workloads(set_name, "onnxruntime"))


def test_a_missing_results_file_says_how_to_remake_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `python benchmarks/roofline.py`"):
        load_roofline_results(tmp_path / "roofline.json")
