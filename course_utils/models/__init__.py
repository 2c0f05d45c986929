"""CIFAR-10 and ImageNet networks built from the Session-5 operators: architectures only (how they are trained
and which runs are committed is ``course_utils.experiments``). ``baseline_cnn`` is the course baseline; other
architectures live in their own modules (``course_utils.models.<name>``)."""
from .baseline import BaselineCNN, baseline_cnn, block_names, decomposed_from, register_block

__all__ = ["BaselineCNN", "baseline_cnn", "block_names", "decomposed_from", "register_block"]
