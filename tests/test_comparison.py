"""course_utils.comparison.compare: Welch's t-test at 95 %, computed by scipy, checked here against the formula
written out by hand; with 3 seeds against 3, a gap of twice its standard error is within noise."""
from __future__ import annotations

import math
import statistics

import pytest
from scipy import stats

from course_utils.comparison import compare, compare_with_noise, in_words, points, pooled_noise


def _by_hand(a: list[float], b: list[float]) -> tuple[float, float]:
    """(half-width of the 95 % interval, degrees of freedom): Welch–Satterthwaite."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return stats.t.ppf(0.975, df) * se, df


@pytest.mark.parametrize("a, b", [([0.61, 0.63, 0.62], [0.60, 0.605, 0.59]),
                                  ([0.5, 0.52, 0.49, 0.55], [0.40, 0.47, 0.45]),
                                  ([0.70, 0.71], [0.60, 0.66, 0.63, 0.65])])
def test_the_interval_is_welchs(a, b):
    gap = compare(a, b)
    half, df = _by_hand(a, b)
    assert gap["df"] == pytest.approx(df) and gap["noise"] == pytest.approx(half)
    assert gap["low"] == pytest.approx(gap["difference"] - half) and gap["high"] == pytest.approx(gap["difference"] + half)
    assert (gap["verdict"] == "within noise") == (gap["p_value"] >= 0.05)


def test_two_standard_errors_are_not_enough_with_three_seeds():
    a, b = [0.62, 0.61, 0.63], [0.60, 0.59, 0.61]            # difference 0.02, 2 · se ≈ 0.0163
    se = math.sqrt(statistics.variance(a) / 3 + statistics.variance(b) / 3)
    assert abs(statistics.fmean(a) - statistics.fmean(b)) > 2 * se   # the old rule said "a higher"
    gap = compare(a, b)
    assert gap["verdict"] == "within noise" and 0.05 < gap["p_value"] < 0.2
    assert "within noise" in in_words(gap, "a", "b")


def test_a_clear_gap_is_stated_with_its_p_value():
    gap = compare([0.70, 0.71, 0.72], [0.60, 0.61, 0.62])
    assert gap["verdict"] == "a higher" and gap["p_value"] < 0.001
    assert "p = 0.000" in in_words(gap, "a", "b") and points(gap).startswith("+10.0")


def test_no_spread_at_all_is_not_a_crash():
    assert compare([0.5, 0.5], [0.5, 0.5])["verdict"] == "within noise"
    assert compare([0.6, 0.6], [0.5, 0.5])["verdict"] == "a higher"


def test_one_seed_cannot_measure_noise():
    with pytest.raises(ValueError, match="at least 2 seeds"):
        compare([0.5], [0.4, 0.45])


def test_the_pooled_noise_is_the_formula_and_one_group_is_its_own():
    a, b = [0.61, 0.63, 0.62], [0.50, 0.55, 0.53, 0.52]
    spread, df = pooled_noise([a, b])
    assert df == 5
    assert spread == pytest.approx(math.sqrt((2 * statistics.variance(a) + 3 * statistics.variance(b)) / 5))
    assert pooled_noise([a]) == (pytest.approx(statistics.stdev(a)), 2)


def test_a_pooled_comparison_of_many_seeds_is_students_t_test():
    """With the noise pooled from a and b themselves, the interval is scipy's Student t (equal variances)."""
    a, b = [0.61, 0.63, 0.62], [0.57, 0.60, 0.56]
    gap = compare_with_noise(a, b, pooled_noise([a, b]))
    test = stats.ttest_ind(a, b, equal_var=True)
    interval = test.confidence_interval(0.95)
    assert gap["low"] == pytest.approx(interval.low) and gap["high"] == pytest.approx(interval.high)
    assert gap["p_value"] == pytest.approx(test.pvalue) and gap["df"] == 4


def test_one_seed_against_one_is_judged_by_the_borrowed_noise():
    noise = (0.005, 4)                                  # s_p = 0.5 point, df = 4
    bar = stats.t.ppf(0.975, 4) * 0.005 * math.sqrt(2)  # ≈ 1.96 points
    assert compare_with_noise([0.70], [0.70 - 0.9 * bar], noise)["verdict"] == "within noise"
    assert compare_with_noise([0.70], [0.70 - 1.1 * bar], noise)["verdict"] == "a higher"
    assert compare_with_noise([0.60], [0.70], noise)["verdict"] == "b higher"


@pytest.mark.parametrize("noise, match", [((-0.01, 4), "finite number >= 0"), ((0.01, 0), "integer >= 1"),
                                          ((float("nan"), 4), "finite number >= 0"), ((0.01, 2.5), "integer >= 1")])
def test_a_nonsense_noise_is_refused(noise, match):
    with pytest.raises(ValueError, match=match):
        compare_with_noise([0.5], [0.4], noise)


def test_pooled_noise_needs_groups_of_two_seeds():
    with pytest.raises(ValueError, match="at least 2 seeds"):
        pooled_noise([[0.5, 0.6], [0.4]])
    with pytest.raises(ValueError, match="at least one"):
        pooled_noise([])
    with pytest.raises(ValueError, match="at least one finite"):
        compare_with_noise([], [0.4], (0.01, 4))
