"""CIFAR-10 networks built from the Session-5 operators. ``baseline_cnn`` is the course baseline;
other architectures live in their own modules (``course_utils.models.<name>``)."""
from .baseline import BLOCKS, BaselineCNN, baseline_cnn, register_block

__all__ = ["BLOCKS", "BaselineCNN", "baseline_cnn", "register_block"]
