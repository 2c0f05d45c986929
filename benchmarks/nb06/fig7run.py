"""One network of notebook 06's Figure 7 cell, trained in its own process (same train() call and cache
key as the notebook's cell), so the runs could proceed side by side on the shared machine.

    COURSE_COMMAND="notebooks/06_shift_attention.ipynb Figure 7 training cell, run one network per process" \
        python benchmarks/nb06/fig7run.py sal 1.0
"""
import sys

import torch

from course_utils.data import load_cifar10
from course_utils.layers.shift_attention import ResNet20Style, temperature_step_hook
from course_utils.train import train

torch.set_num_threads(1)
kind, width = sys.argv[1], float(sys.argv[2])
if kind not in ("standard", "sal"):
    raise ValueError(f"kind={kind!r} must be 'standard' or 'sal'")
data = load_cifar10()
result = train(ResNet20Style(kind, width=width, blocks=1), data, name=f"nb06_{kind}_resnet8_w{width}", epochs=6,
               step_hook=temperature_step_hook if kind == "sal" else None)
print(kind, width, result.test_accuracy, result.wall_time_s)
