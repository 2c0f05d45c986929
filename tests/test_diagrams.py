"""Block anatomy diagrams: the numbers they write are count()'s, sliders redraw the same image in
place, bad arguments are refused, and no two labels overlap at presenter size."""
from __future__ import annotations

import copy
import itertools

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn

from course_utils import diagrams, style
from course_utils.cost import count
from course_utils.diagrams import macs_text
from course_utils.layers import DepthwiseSeparableConv2d, Fire, InvertedResidual, ShiftAttentionConv2d, ShiftConv2d

STYLES = {"default": style.DEFAULT, "presenter": style.PRESENTER}


@pytest.fixture(params=list(STYLES))
def figure_style(request):
    """Each test runs at the default and at the presenter style; rcParams are restored afterwards."""
    with mpl.rc_context(STYLES[request.param]):
        yield request.param


def new_figure() -> Figure:
    return Figure(figsize=mpl.rcParams["figure.figsize"], dpi=mpl.rcParams["figure.dpi"])


def texts_by_gid(figure: Figure) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for ax in figure.axes:
        for text in ax.texts:
            found.setdefault(text.get_gid(), []).append(text.get_text())
    return found


def out_size(size: int, kernel_size: int, stride: int) -> int:
    return (size + 2 * (kernel_size // 2) - kernel_size) // stride + 1


def check_numbers(figure: Figure, module: nn.Module, c_in: int, hw: tuple[int, int],
                  expected_inputs: dict[str, tuple[int, ...]]) -> None:
    """Each stage's MACs text is count() of that submodule on its input; the footer is the block's exact
    total; and the labels are readable."""
    check_readable(figure)
    texts = texts_by_gid(figure)
    stage_total = 0
    for path, input_shape in expected_inputs.items():
        macs = count(module.get_submodule(path), (1, *input_shape)).macs
        stage_total += macs
        assert texts[f"macs:{path}"] == [macs_text(macs)], path
    total = count(module, (1, c_in, *hw)).macs
    assert stage_total == total
    assert f"total {total:,} MACs per image" in texts["total"][0]


# --- every diagram, several shapes, both styles --------------------------------------------
@pytest.mark.parametrize("c_in, s, e1, e3, hw", [(96, 16, 64, 64, (32, 32)), (256, 32, 256, 32, (8, 8)),
                                                 (16, 4, 32, 240, (13, 27))])
def test_fire_numbers(figure_style, c_in, s, e1, e3, hw):
    module = Fire(c_in, squeeze=s, expand1x1=e1, expand3x3=e3)
    figure = new_figure()
    diagrams.draw_fire(figure, module, hw)
    check_numbers(figure, module, c_in, hw, {"squeeze": (c_in, *hw), "expand1x1": (s, *hw), "expand3x3": (s, *hw)})
    assert texts_by_gid(figure)["shape:output"] == [f"{e1 + e3}×{hw[0]}×{hw[1]}"]


@pytest.mark.parametrize("c_in, c_out, k, stride, d, size", [(32, 64, 3, 1, 1, 32), (160, 8, 7, 2, 4, 32),
                                                              (8, 160, 1, 2, 2, 15)])
def test_depthwise_separable_numbers(figure_style, c_in, c_out, k, stride, d, size):
    module = DepthwiseSeparableConv2d(in_channels=c_in, out_channels=c_out, kernel_size=k, stride=stride,
                                      depth_multiplier=d)
    figure = new_figure()
    diagrams.draw_depthwise_separable(figure, module, (size, size))
    h = out_size(size, k, stride)
    check_numbers(figure, module, c_in, (size, size),
                  {"depthwise": (c_in, size, size), "pointwise": (d * c_in, h, h)})
    assert texts_by_gid(figure)["shape:1"] == [f"{d * c_in}×{h}×{h}"]


@pytest.mark.parametrize("c_in, c_out, stride, t, size", [(24, 24, 1, 6, 32), (160, 8, 2, 1, 32),
                                                          (16, 24, 1, 3, 28), (40, 40, 2, 6, 9)])
def test_inverted_residual_numbers_and_residual(figure_style, c_in, c_out, stride, t, size):
    module = InvertedResidual(in_channels=c_in, out_channels=c_out, stride=stride, expand_ratio=t)
    figure = new_figure()
    diagrams.draw_inverted_residual(figure, module, (size, size))
    h, hidden = out_size(size, 3, stride), t * c_in
    if t == 1:
        expected = {"conv.0.0": (c_in, size, size), "conv.1": (c_in, h, h)}
    else:
        expected = {"conv.0.0": (c_in, size, size), "conv.1.0": (hidden, size, size), "conv.2": (hidden, h, h)}
    check_numbers(figure, module, c_in, (size, size), expected)
    texts = texts_by_gid(figure)
    residual = texts["residual"][0]
    assert residual.startswith("+ input") == (stride == 1 and c_in == c_out)
    assert "BN, no ReLU" in texts[f"op:{list(expected)[-1]}"]   # the linear bottleneck is marked


@pytest.mark.parametrize("c_in, c_out, k, stride, size", [(64, 64, 3, 1, 32), (256, 16, 5, 2, 32),
                                                          (16, 256, 1, 1, 8), (4, 8, 5, 1, 10)])
def test_shift_conv_numbers(figure_style, c_in, c_out, k, stride, size):
    module = ShiftConv2d(in_channels=c_in, out_channels=c_out, kernel_size=k, stride=stride)
    figure = new_figure()
    diagrams.draw_shift_conv(figure, module, (size, size))
    check_numbers(figure, module, c_in, (size, size), {"shift": (c_in, size, size), "pointwise": (c_in, size, size)})
    assert texts_by_gid(figure)["macs:shift"] == ["0 MACs"]


@pytest.mark.parametrize("c_in, c_out, k, shared, size", [(64, 64, 3, False, 32), (8, 160, 7, True, 32),
                                                          (2, 1, 5, False, 12)])
def test_sal_numbers(figure_style, c_in, c_out, k, shared, size):
    torch.manual_seed(0)
    module = ShiftAttentionConv2d(in_channels=c_in, out_channels=c_out, kernel_size=k, shared=shared)
    figure = new_figure()
    diagrams.draw_sal(figure, module, (size, size))
    check_readable(figure)
    texts = texts_by_gid(figure)
    # Panel 2's caption: the share of the layer's slices (all of them, not only those drawn) with max A ≥ 0.99.
    peaks = module.attention_map().detach().amax(-1)
    assert texts["one_hot"] == [f"{(peaks >= 0.99).float().mean().item():.0%} one-hot"]
    dense = count(module, (1, c_in, size, size)).macs
    hardened = count(ShiftConv2d(in_channels=c_in, out_channels=c_out, kernel_size=k), (1, c_in, size, size)).macs
    assert texts["macs:dense"] == [macs_text(dense)]
    assert texts["macs:shift"] == [macs_text(hardened)]
    assert texts["total"] == [f"per image: training {dense:,} MACs → hardened {hardened:,} MACs"]
    # The paper's accounting of the hardened layer agrees with the shift + 1×1 figure.
    shift_module = module.harden().to_shift()
    if not shared:
        assert shift_module.cost((size, size)).macs == hardened
    # Panel 3's offsets are the argmax taps.
    tap = int(module.chosen_taps()[0, 0])
    assert texts["offset:0:0"] == [f"{tap // k - k // 2},{tap % k - k // 2}"]


def test_sal_caption_counts_one_hot_slices_at_the_slider_temperature():
    """A fresh layer at the authors' T = 20 is already partly one-hot; at T = 1 none is."""
    widget = diagrams.sal_anatomy(c_in=64, c_out=64, temperature=20)
    share = widget.module.one_hot_fraction()
    assert 0.3 < share < 0.8
    assert texts_by_gid(widget.figure)["one_hot"] == [f"{share:.0%} one-hot"]
    widget.sliders["temperature"].value = 1
    assert texts_by_gid(widget.figure)["one_hot"] == ["0% one-hot"]


def test_draws_into_an_axes_too():
    figure = Figure(figsize=(12, 12), layout="none")
    top, bottom = figure.subplots(2, 1)
    module = Fire(96, squeeze=16, expand1x1=64, expand3x3=64)
    diagrams.draw_fire(bottom, module, (32, 32))
    assert not top.texts and bottom.texts
    assert texts_by_gid(figure)["macs:squeeze"] == [macs_text(count(module.squeeze, (1, 96, 32, 32)).macs)]


# --- sliders ------------------------------------------------------------------------------
ANATOMIES = {
    "fire": (diagrams.fire_anatomy, "squeeze", 32),
    "depthwise_separable": (diagrams.depthwise_separable_anatomy, "depth_multiplier", 3),
    "inverted_residual": (diagrams.inverted_residual_anatomy, "expand_ratio", 2),
    "shift_conv": (diagrams.shift_conv_anatomy, "kernel_size", 5),
    "sal": (diagrams.sal_anatomy, "temperature", 70),
}


@pytest.mark.parametrize("name", list(ANATOMIES))
def test_slider_redraws_the_same_image_in_place(name):
    make, knob, value = ANATOMIES[name]
    figures_before = plt.get_fignums()
    widget = make()
    figure, image, module = widget.figure, widget.live.widget, widget.module
    assert image in widget.children
    before = image.value
    widget.sliders[knob].value = value
    assert image.value != before                       # a new PNG ...
    assert widget.figure is figure and widget.live.widget is image and image in widget.children  # ... in place
    assert widget.module is not module                 # the module was rebuilt
    assert len(figure.axes) == 1                       # redrawn, not drawn on top
    assert plt.get_fignums() == figures_before         # no pyplot figure piles up


def test_sliders_leave_the_notebooks_random_stream_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    widget = diagrams.sal_anatomy()
    widget.sliders["c_in"].value = 16
    assert torch.equal(torch.rand(3), expected)


def test_inverted_residual_slider_toggles_the_residual():
    widget = diagrams.inverted_residual_anatomy(c_in=24, c_out=24, stride=1)
    assert texts_by_gid(widget.figure)["residual"][0].startswith("+ input")
    widget.sliders["stride"].value = 2
    assert texts_by_gid(widget.figure)["residual"][0] == "no residual: stride 2"
    widget.sliders["stride"].value = 1
    widget.sliders["c_out"].value = 32
    assert texts_by_gid(widget.figure)["residual"][0] == "no residual: C_in = 24 ≠ C_out = 32"


def test_every_fire_slider_value_keeps_squeeze_below_the_expands():
    widget = diagrams.fire_anatomy()
    options = {name: slider.options for name, slider in widget.sliders.items()}
    assert max(options["squeeze"]) < min(options["expand1x1"]) + min(options["expand3x3"])
    assert max(options["squeeze"]) <= min(min(options["expand1x1"]), min(options["expand3x3"]))


# --- saturation at initialisation: a trained SAL next to the attention it started from --------
def sal_network(seed: int = 0) -> nn.Module:
    """A small network of two SAL layers (one shared), initialised with ``seed`` as train() would."""
    from course_utils.training import reset_parameters

    model = nn.Sequential(ShiftAttentionConv2d(8, 8), nn.ReLU(), ShiftAttentionConv2d(8, 8, shared=True))
    reset_parameters(model, seed)
    return model


def trained_copy(model: nn.Module) -> nn.Module:
    """``model`` with its attention logits moved (as training would) and T at its final 70."""
    trained = copy.deepcopy(model)
    with torch.no_grad():
        for layer in trained:
            if isinstance(layer, ShiftAttentionConv2d):
                layer.attention.add_(torch.rand(layer.attention.shape, generator=torch.Generator().manual_seed(1)))
                layer.set_temperature(70.0)
    return trained


def test_saturation_widget_redraws_the_initialisation_in_place():
    initial = sal_network(seed=3)
    widget = diagrams.attention_saturation(trained_copy(initial), seed=3, layer=0)
    peaks = initial[0].attention_map().detach().amax(-1).flatten()
    peaks_shared = initial[2].attention_map().detach().amax(-1).flatten()
    expected = (torch.cat([peaks, peaks_shared]) >= 0.99).float().mean().item()
    assert widget.one_hot == pytest.approx(expected)                  # T₀ = 20: the run's own start
    figures_before = plt.get_fignums()
    figure, image, before = widget.figure, widget.live.widget, widget.live.widget.value
    widget.slider.value = 1
    assert widget.one_hot == 0.0 and "T₀ = 1: 0% of the slices" in figure._suptitle.get_text()
    assert image.value != before and widget.live.widget is image and image in widget.children
    assert widget.figure is figure and plt.get_fignums() == figures_before
    assert len(widget.images) == 4 and all(title in ("same tap", "tap moved") for title in
                                           [ax.get_title() for ax in figure.axes[4:8]])


def test_saturation_widget_says_which_taps_moved():
    initial = sal_network(seed=0)
    widget = diagrams.attention_saturation(initial, seed=0, layer=1, slices=[(0, 0), (5, 7)])
    assert widget.same_tap == [True, True]                            # "trained" = initial: nothing moved
    moved = copy.deepcopy(initial)
    start = int(initial[2].chosen_taps()[0, 7])
    with torch.no_grad():                                             # input channel 7 now keeps another tap
        moved[2].attention[0, 7] = torch.nn.functional.one_hot(torch.tensor((start + 1) % 9), 9).float()
    widget = diagrams.attention_saturation(moved, seed=0, layer=1, slices=[(5, 7), (0, 0)])
    assert widget.same_tap == [False, True]


def test_saturation_widget_leaves_the_random_stream_and_the_model_alone():
    model = trained_copy(sal_network(seed=0))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    widget = diagrams.attention_saturation(model, seed=0)
    widget.slider.value = 5
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


# --- bad arguments -----------------------------------------------------------------------
@pytest.mark.parametrize("call, words", [
    (lambda: diagrams.draw_fire(new_figure(), nn.Conv2d(3, 3, 1), (32, 32)), "module=Conv2d must be a Fire"),
    (lambda: diagrams.draw_inverted_residual(new_figure(), Fire(8, squeeze=2, expand1x1=4, expand3x3=4), (8, 8)),
     "module=Fire must be a InvertedResidual"),
    (lambda: diagrams.draw_fire(new_figure(), Fire(8, squeeze=2, expand1x1=4, expand3x3=4), (32,)), "input_hw=(32,)"),
    (lambda: diagrams.draw_shift_conv(new_figure(), ShiftConv2d(8, 8), (0, 8)), "input_hw=(0, 8)"),
    (lambda: diagrams.draw_depthwise_separable("figure", DepthwiseSeparableConv2d(8, 8), (8, 8)), "fig_or_ax=str"),
    (lambda: diagrams.draw_sal(new_figure(), ShiftAttentionConv2d(8, 8), (8, 8), out_slices=0), "out_slices=0"),
    (lambda: diagrams.fire_anatomy(squeeze=5), "squeeze=5 must be one of"),
    (lambda: diagrams.fire_anatomy(squeeze=64), "squeeze=64 must be one of"),
    (lambda: diagrams.inverted_residual_anatomy(stride=3), "stride=3 must be one of"),
    (lambda: diagrams.depthwise_separable_anatomy(kernel_size=4), "kernel_size=4 must be one of"),
    (lambda: diagrams.shift_conv_anatomy(size=0), "size=0 must be a positive integer"),
    (lambda: diagrams.sal_anatomy(temperature=3), "temperature=3 must be one of"),
    (lambda: diagrams.attention_saturation(nn.Conv2d(3, 3, 3), seed=0), "holds no ShiftAttentionConv2d"),
    (lambda: diagrams.attention_saturation("model", seed=0), "trained=str must be an nn.Module"),
    (lambda: diagrams.attention_saturation(sal_network(), seed=-1), "seed=-1"),
    (lambda: diagrams.attention_saturation(sal_network(), seed=0, layer=2), "layer=2 must be an index"),
    (lambda: diagrams.attention_saturation(sal_network(), seed=0, slices=[(8, 0)]), "slices=[(8, 0)]"),
    (lambda: diagrams.attention_saturation(sal_network(), seed=0, temperature=3), "temperature=3 must be one of"),
])
def test_bad_arguments(call, words):
    with pytest.raises(ValueError) as error:
        call()
    assert words in str(error.value)


# --- readability at presenter size -------------------------------------------------------
def text_boxes(figure: Figure) -> list[tuple[str, object]]:
    FigureCanvasAgg(figure).draw()
    renderer = figure.canvas.get_renderer()
    return [(text.get_text(), text.get_window_extent(renderer)) for ax in figure.axes for text in ax.texts
            if text.get_text()]


def check_readable(figure: Figure) -> None:
    """No two texts overlap and none is cut off by the figure's edge."""
    boxes = text_boxes(figure)
    assert len(boxes) >= 8
    for (text_a, a), (text_b, b) in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), f"{text_a!r} overlaps {text_b!r}"
    whole = figure.bbox
    for text, box in boxes:
        assert whole.x0 <= box.x0 and box.x1 <= whole.x1 and whole.y0 <= box.y0 and box.y1 <= whole.y1, \
            f"{text!r} is cut off"


@pytest.mark.parametrize("name", list(ANATOMIES))
@pytest.mark.parametrize("style_name", list(STYLES))
def test_no_label_overlaps_or_leaves_the_figure(name, style_name):
    """At the sliders' default values, in the widget's own figure."""
    with mpl.rc_context(STYLES[style_name]):
        widget = ANATOMIES[name][0]()
        check_readable(widget.figure)
