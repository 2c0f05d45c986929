"""Helpers behind the Session 5 notebooks: everything a notebook uses, importable from here
(``from course_utils import count, train, load_runs``); the graders are ``course_utils.exercises.nbNN``.

- cost model (``cost``) and operators (``layers``, the registry ``operators``), architectures (``models``);
- data (``data``), training (``training``, ``precision``) and stored runs (``runs``);
- the committed runs (``experiments``) and how to compare them at matched cost (``comparison``);
- which input reaches which output (``connectivity``: import from there, the function has the module's name);
- figures and widgets (``style``, ``widgets``, ``diagrams``), latency (``latency``), the course challenge
  (``challenge``, ``pareto``);
- the hardware view: a second runtime (``runtime``: ONNX Runtime), the roofline of this machine (``roofline``),
  peak activation memory (``memory``), BatchNorm folding (``folding``).
"""
from . import fingerprint  # noqa: F401  (first: it hashes the package's files as this process imports them)
from . import style
from .challenge import ScoreExplorer, resnet18_cifar, score, score_terms
from .comparison import compare, compare_with_noise, curve_at, in_words, points, pooled_noise, summarise, verdict
from .cost import (Cost, conv2d_cost, count, decomposed_conv_cost, depthwise_conv_cost, depthwise_separable_cost,
                   fire_cost, fire_widths, grouped_conv_cost, human, inverted_residual_cost)
from .data import CLASSES, CIFAR10Data, load_cifar10
from .diagrams import (attention_saturation, depthwise_separable_anatomy, fire_anatomy, inverted_residual_anatomy,
                       sal_anatomy, shift_conv_anatomy)
from .folding import Folded, fold_batchnorm
from .experiments import (CONTROLS, LAB, SEEDS, attention_curve, attention_summary, control_model, family_specs,
                          lab_model, load_model, load_runs, make_run, mark_live_run, plot_seed_dots,
                          plot_width_curves, run_name)
from .latency import measure_latency
from .memory import activation_memory, traced_activation_peak
from .layers import (ChannelShuffle, DecomposedConv2d, DepthwiseConv2d, DepthwiseSeparableConv2d, Fire,
                     FrozenAttentionConv2d, InvertedResidual, Shift2d, ShiftAttentionConv2d, ShiftConv2d, ShuffleUnit)
from .layers.decomposed import best_pair
from .layers.sal_deployed import network_macs, to_deployed_model
from .layers.shift import shift_channels, shift_groups
from .models import BaselineCNN, baseline_cnn, block_names, decomposed_from, register_block
from .models.baseline import block_builder
from .models.baseline import STAGES, STEM_CHANNELS, Residual
from .models.layer_table import layer_table, leaf_costs
from .models.mobilenet import (MOBILENET_V1_TABLE, MOBILENET_V2_TABLE, make_divisible, mobilenet_v1, mobilenet_v2,
                               v1_channels)
from .models.resnet20 import ResNet20Style
from .models.sal import deployed_cost, harden, memory_bytes, sal_layers, to_shift_model
from .models.squeezenet import SQUEEZENET_TABLES, squeezenet, squeezenet_cifar
from .operators import OPERATORS, single_layer_operators
from .paper_points import BITS_PER_WEIGHT, plot_paper_points, resnet20_memory
from .roofline import classify, load_roofline_results, measure_roofs, plot_roofline, workload
from .runtime import eager_and_ort, load_runtime_results, ranking_changes
from .pareto import best_under_budget, pareto_front
from .runs import MissingRunError, Store, TrainResult
from .show import show_source
from .training import (CURVE_TEST_IMAGES, DEFAULT_EPOCHS, DEFAULT_LR, Hooks, TrainConfig, evaluate, reset_parameters,
                    train)
from .widgets import CostExplorer, LayerShape, LiveFigure, operator_table, retrain_switch

__version__ = "0.1.0"
__all__ = [
    "style", "ScoreExplorer", "resnet18_cifar", "score", "score_terms",
    "compare", "compare_with_noise", "curve_at", "in_words", "points", "pooled_noise", "summarise", "verdict",
    "Cost", "conv2d_cost", "count", "decomposed_conv_cost", "depthwise_conv_cost", "depthwise_separable_cost",
    "fire_cost", "fire_widths", "grouped_conv_cost", "human", "inverted_residual_cost",
    "CLASSES", "CIFAR10Data", "load_cifar10",
    "attention_saturation", "depthwise_separable_anatomy", "fire_anatomy", "inverted_residual_anatomy",
    "sal_anatomy", "shift_conv_anatomy",
    "CONTROLS", "LAB", "SEEDS", "attention_curve", "attention_summary", "control_model", "family_specs",
    "lab_model", "load_model", "load_runs", "make_run", "mark_live_run", "plot_seed_dots", "plot_width_curves",
    "run_name", "measure_latency", "Folded", "fold_batchnorm", "activation_memory", "traced_activation_peak",
    "classify", "load_roofline_results", "measure_roofs", "plot_roofline", "workload", "eager_and_ort",
    "load_runtime_results", "ranking_changes",
    "DecomposedConv2d", "DepthwiseConv2d", "DepthwiseSeparableConv2d", "Fire", "FrozenAttentionConv2d",
    "InvertedResidual", "Shift2d", "ShiftAttentionConv2d", "ShiftConv2d", "ChannelShuffle", "ShuffleUnit", "best_pair",
    "network_macs",
    "to_deployed_model", "shift_channels", "shift_groups",
    "BaselineCNN", "baseline_cnn", "block_builder", "block_names", "decomposed_from", "register_block", "STAGES", "STEM_CHANNELS",
    "Residual", "layer_table", "leaf_costs", "MOBILENET_V1_TABLE", "MOBILENET_V2_TABLE", "make_divisible",
    "mobilenet_v1", "mobilenet_v2", "v1_channels", "ResNet20Style", "deployed_cost", "harden", "memory_bytes", "sal_layers",
    "to_shift_model", "SQUEEZENET_TABLES", "squeezenet", "squeezenet_cifar",
    "OPERATORS", "single_layer_operators", "plot_paper_points", "BITS_PER_WEIGHT", "resnet20_memory",
    "best_under_budget", "pareto_front",
    "MissingRunError", "Store", "TrainResult", "show_source",
    "CURVE_TEST_IMAGES", "DEFAULT_EPOCHS", "DEFAULT_LR", "Hooks", "TrainConfig", "evaluate", "reset_parameters",
    "train",
    "CostExplorer", "LayerShape", "LiveFigure", "operator_table", "retrain_switch",
]
