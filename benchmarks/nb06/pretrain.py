"""Notebook 06's main SAL run, made outside Jupyter: executes the notebook's code cells in order, up
to and including its main SAL training cell, so the train() call (and its cache key in
data/results/) is exactly the notebook's. Used when the shared machine was too busy for nbconvert.

    COURSE_COMMAND="notebooks/06_shift_attention.ipynb training cells, executed in order" \
        python benchmarks/nb06/pretrain.py
"""
import json
import os
from pathlib import Path

import matplotlib
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
os.chdir(NOTEBOOKS)
cells = [c for c in json.loads((NOTEBOOKS / "06_shift_attention.ipynb").read_text())["cells"]
         if c["cell_type"] == "code"]
namespace = {"display": lambda *args, **kwargs: None}
for cell in cells:
    source = "".join(cell["source"])
    print("=== cell:", source.splitlines()[0][:60], flush=True)
    exec(compile(source, "cell", "exec"), namespace)
    if "sal_result = train(" in source:
        break
