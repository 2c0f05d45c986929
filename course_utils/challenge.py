"""The course challenge score (IMT Atlantique "Efficient Deep Learning", lab 4).

Reach at least 90 % test accuracy on CIFAR-10 while minimising

    score = [1 − (p_s + p_u)] · (q_w / 32) · w / 5.6e6  +  (1 − p_s) · (max(q_w, q_a) / 32) · f / 2.8e8
            └──────────── parameter term ────────────┘    └─────────────── MAC term ───────────────┘

* ``w`` parameters and ``f`` multiply-accumulates (MACs) per 32×32 image of the model;
* ``p_s`` structured pruning rate (whole channels/filters removed: fewer weights *and* fewer MACs),
  ``p_u`` unstructured pruning rate (single weights zeroed: fewer weights to store, but a dense
  kernel still does every MAC, so ``p_u`` does not enter the MAC term);
* ``q_w`` bits per weight, ``q_a`` bits per activation: storing a weight costs q_w/32 of a float32,
  and a MAC runs at the wider of its two operands, max(q_w, q_a) bits.

The denominators are half of ResNet-18 (CIFAR version: 11.2 M parameters, 0.56 G MACs), i.e. ResNet-18
stored and run in 16-bit precision: each of its two terms is then ≈ 1 (see ``resnet18_cifar`` and the
tests), so the reference scores ≈ 2, and a model that scores 0.2 is ten times "cheaper".
"""
from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real

from . import checks
from .cost import Cost, human

PARAMS_REFERENCE = 5.6e6   # w of the reference: ResNet-18's 11.2 M weights at 16 bits = 5.6 M float32 weights
MACS_REFERENCE = 2.8e8     # f of the reference: ResNet-18's 0.56 G MACs at 16 bits = 0.28 G float32 MACs
FULL_PRECISION_BITS = 32


def _count(name: str, value: object) -> float:
    """A parameter or MAC count: a real number ≥ 0 (not a bool; a NumPy number or a 0-d tensor is fine)."""
    value = checks.scalar(value)
    if isinstance(value, bool) or not isinstance(value, Real) or not value >= 0 or value == float("inf"):
        raise ValueError(f"{name}={value!r} must be a finite non-negative number (a count of {name})")
    return float(value)


def _bits(name: str, value: object) -> int:
    """A bit width: an integer between 1 and 32."""
    value = checks.scalar(value)
    if isinstance(value, bool) or not isinstance(value, Integral) or not 1 <= value <= FULL_PRECISION_BITS:
        raise ValueError(f"{name}={value!r} must be an integer number of bits between 1 and {FULL_PRECISION_BITS}")
    return int(value)


def _validate(params: object, macs: object, p_s: object, p_u: object, q_w: object,
              q_a: object) -> tuple[float, float, float, float, int, int]:
    w, f = _count("params", params), _count("macs", macs)
    p_s, p_u = checks.fraction("p_s", p_s), checks.fraction("p_u", p_u)
    if p_s + p_u > 1:
        raise ValueError(f"p_s + p_u = {p_s} + {p_u} = {p_s + p_u:g} must not exceed 1 "
                         "(at most every weight can be pruned)")
    return w, f, float(p_s), float(p_u), _bits("q_w", q_w), _bits("q_a", q_a)


def score_terms(params: float, macs: float, p_s: float = 0.0, p_u: float = 0.0, q_w: int = 32,
                q_a: int = 32) -> tuple[float, float]:
    """The two terms of the score, ``(parameter_term, mac_term)``:

    parameter_term = [1 − (p_s + p_u)] · (q_w/32) · params / 5.6e6   (what must be stored)
    mac_term       = (1 − p_s) · (max(q_w, q_a)/32) · macs / 2.8e8   (what must be computed)
    """
    w, f, p_s, p_u, q_w, q_a = _validate(params, macs, p_s, p_u, q_w, q_a)
    parameter_term = (1 - (p_s + p_u)) * (q_w / FULL_PRECISION_BITS) * w / PARAMS_REFERENCE
    mac_term = (1 - p_s) * (max(q_w, q_a) / FULL_PRECISION_BITS) * f / MACS_REFERENCE
    return parameter_term, mac_term


def score(params: float, macs: float, p_s: float = 0.0, p_u: float = 0.0, q_w: int = 32,
          q_a: int = 32) -> float:
    """The challenge score (lower is better): parameter term + MAC term,

    score = [1 − (p_s + p_u)]·(q_w/32)·w/5.6e6 + (1 − p_s)·(max(q_w, q_a)/32)·f/2.8e8

    with w = ``params``, f = ``macs`` (per 32×32 image), pruning rates ``p_s`` (structured) and ``p_u``
    (unstructured) in [0, 1] with p_s + p_u ≤ 1, and bit widths ``q_w`` (weights), ``q_a``
    (activations) in 1..32. Raises ValueError on anything else.
    """
    parameter_term, mac_term = score_terms(params, macs, p_s, p_u, q_w, q_a)
    return parameter_term + mac_term


def resnet18_cifar(num_classes: int = 10):
    """The reference network: torchvision's ResNet-18 with the usual CIFAR stem (3×3 conv, stride 1,
    no max-pool), as in the course's labs. 11,173,962 parameters, ≈ 0.56 G MACs per 32×32 image."""
    import torchvision
    from torch import nn

    checks.positive_int("num_classes", num_classes)
    model = torchvision.models.resnet18(num_classes=num_classes)
    model.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    model.maxpool = nn.Identity()
    return model


# ---------------------------------------------------------------------------------------------
# The score explorer widget
# ---------------------------------------------------------------------------------------------
CUSTOM = "(type params and MACs)"


class ScoreExplorer:
    """Pick a model (or type its params/MACs), pruning rates and bit widths; see the score and its two terms.

    ``models`` maps a name to a :class:`~course_utils.cost.Cost` (or a ``(params, macs)`` pair).
    The bar chart (a :class:`~course_utils.widgets.LiveFigure`) and the text redraw in place. Its x-axis
    is fixed for a model (it runs to the model's unpruned 32-bit terms, which pruning and fewer bits can
    only shrink), so the bars visibly shorten as p_s, p_u, q_w or q_a move; it rescales only when the
    model (or its typed params/MACs) changes.
    """

    def __init__(self, models: Mapping[str, Cost | tuple[int, int]], model: str | None = None,
                 p_s: float = 0.0, p_u: float = 0.0, q_w: int = 32, q_a: int = 32) -> None:
        import ipywidgets as widgets
        from matplotlib.figure import Figure

        from .widgets import LiveFigure

        if not isinstance(models, Mapping) or not models:
            raise ValueError(f"models={models!r} must be a non-empty mapping name -> Cost or (params, macs)")
        self.models: dict[str, tuple[float, float]] = {}
        for name, cost in models.items():
            if isinstance(cost, Cost):
                params, macs = cost.params, cost.macs
            elif isinstance(cost, (tuple, list)) and len(cost) == 2:
                params, macs = cost
            else:
                raise ValueError(f"models[{name!r}]={cost!r} must be a Cost or a (params, macs) pair")
            self.models[str(name)] = (_count("params", params), _count("macs", macs))
        model = model if model is not None else next(iter(self.models))
        if model not in self.models:
            raise ValueError(f"model={model!r} must be one of {list(self.models)}")
        _validate(*self.models[model], p_s, p_u, q_w, q_a)

        params, macs = self.models[model]
        label = {"description_width": "11em"}  # em: grows with the widget font (make present)
        slider = dict(continuous_update=False, style=label, layout=widgets.Layout(width="95%"))
        # As wide as the sliders: at the default 300 px a long model name is cut off after the label.
        self.choice = widgets.Dropdown(options=[*self.models, CUSTOM], value=model, description="model",
                                       style=label, layout=widgets.Layout(width="95%"))
        half_row = widgets.Layout(width="47%")
        self.params = widgets.FloatText(value=params, description="params w", style=label, layout=half_row)
        self.macs = widgets.FloatText(value=macs, description="MACs f", style=label, layout=half_row)
        self.p_s = widgets.FloatSlider(value=p_s, min=0, max=1, step=0.05, description="structured p_s", **slider)
        self.p_u = widgets.FloatSlider(value=p_u, min=0, max=1, step=0.05, description="unstructured p_u",
                                       **slider)
        self.q_w = widgets.IntSlider(value=q_w, min=1, max=32, description="weight bits q_w", **slider)
        self.q_a = widgets.IntSlider(value=q_a, min=1, max=32, description="activation bits q_a", **slider)
        self.text = widgets.HTML()

        figure = Figure(figsize=(9, 2.6), layout="constrained")
        self.ax = figure.subplots()
        self.bars = self.ax.barh([0, 1], [0, 0], color=["tab:orange", "tab:blue"])
        self.ax.set_yticks([0, 1], ["parameter term", "MAC term"])
        self.ax.invert_yaxis()
        self.ax.set_xlabel("contribution to the score (lower is better)")
        self.labels = [self.ax.text(0, i, "", va="center") for i in (0, 1)]
        self.live = LiveFigure(figure)

        self._syncing = False
        self._scaled_for: tuple[float, float] | None = None   # (params, macs) the x-axis was sized for
        self.choice.observe(self._on_choice, names="value")
        for control in (self.params, self.macs):
            control.observe(self._on_typed, names="value")
        for control in (self.p_s, self.p_u, self.q_w, self.q_a):
            control.observe(lambda _change: self.update(), names="value")
        self.widget = widgets.VBox([self.choice, widgets.HBox([self.params, self.macs]), self.p_s, self.p_u,
                                    self.q_w, self.q_a, self.live.widget, self.text])
        self.update()

    def _on_choice(self, change) -> None:
        """A listed model was picked: copy its params and MACs into the text boxes."""
        if change["new"] in self.models:
            self._syncing = True
            try:
                self.params.value, self.macs.value = self.models[change["new"]]
            finally:
                self._syncing = False
        self.update()

    def _on_typed(self, _change) -> None:
        """Params or MACs typed by hand: the model is now a custom one."""
        if self._syncing:
            return
        if self.choice.value != CUSTOM:
            self.choice.value = CUSTOM   # calls _on_choice, which redraws
        else:
            self.update()

    def current(self) -> dict[str, float]:
        """The explorer's current inputs, as keyword arguments of :func:`score`."""
        return {"params": self.params.value, "macs": self.macs.value, "p_s": self.p_s.value,
                "p_u": self.p_u.value, "q_w": self.q_w.value, "q_a": self.q_a.value}

    def update(self) -> None:
        """Recompute the score for the current inputs and redraw (invalid inputs: say why, keep the bars)."""
        try:
            parameter_term, mac_term = score_terms(**self.current())
        except ValueError as error:
            self.text.value = f"<b style='color:#b00'>✗ {error}</b>"
            return
        for bar, label, value in zip(self.bars, self.labels, (parameter_term, mac_term)):
            bar.set_width(value)
            label.set_x(value)
            label.set_text(f" {value:.4f}")
        self._fix_axis()
        self.ax.set_title(f"score = {parameter_term:.4f} + {mac_term:.4f} = {parameter_term + mac_term:.4f}",
                          loc="left")
        self.live.refresh()
        c = self.current()
        self.text.value = (f"w = {human(c['params'])} params, f = {human(c['macs'])} MACs, "
                           f"p_s = {c['p_s']:.2f}, p_u = {c['p_u']:.2f}, q_w = {c['q_w']} bits, "
                           f"q_a = {c['q_a']} bits (the MAC term counts max(q_w, q_a) = "
                           f"{max(c['q_w'], c['q_a'])} bits) → <b>score = {parameter_term + mac_term:.4f}</b> "
                           f"(parameter term {parameter_term:.4f}, MAC term {mac_term:.4f})")

    def _fix_axis(self) -> None:
        """Size the x-axis for the current model: 0 to 1.35 × its larger term unpruned at 32 bits
        (the largest either bar can get), so that pruning and quantising shorten the bars on a fixed scale."""
        counts = (self.params.value, self.macs.value)
        if counts == self._scaled_for:
            return
        self.ax.set_xlim(0, max(*score_terms(*counts), 1e-6) * 1.35)
        self._scaled_for = counts

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


__all__ = ["score", "score_terms", "resnet18_cifar", "ScoreExplorer", "PARAMS_REFERENCE", "MACS_REFERENCE"]
