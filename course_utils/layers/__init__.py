"""One ``nn.Module`` per Session-5 operator. Each layer reports its analytic cost with
``layer.cost((H, W))``, which the tests check against ``course_utils.cost.count``."""
from .decomposed import DecomposedConv2d
from .depthwise import DepthwiseConv2d, DepthwiseSeparableConv2d
from .fire import Fire
from .inverted_residual import InvertedResidual
from .shift import Shift2d, ShiftConv2d
from .shuffle import ChannelShuffle, ShuffleUnit
from .shift_attention import FrozenAttentionConv2d, RandomTapsConv2d, ShiftAttentionConv2d
from .sal_deployed import GatheredShiftPointwise

__all__ = [
    "DecomposedConv2d",
    "DepthwiseConv2d",
    "DepthwiseSeparableConv2d",
    "Fire",
    "InvertedResidual",
    "Shift2d",
    "ShiftConv2d",
    "ChannelShuffle",
    "ShuffleUnit",
    "ShiftAttentionConv2d",
    "FrozenAttentionConv2d",
    "RandomTapsConv2d",
    "GatheredShiftPointwise",
]
