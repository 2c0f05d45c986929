"""What defines the committed runs, and how notebooks read them: the operator lab's table (``lab``), SAL's
training hooks (``sal``) and controls (``sal_controls``), every run in one catalog (``catalog``), one loader
(``store.load_runs``; nothing trained) and the plots of seeded runs (``plots``)."""
from .catalog import FAMILIES, RunSpec, family_specs, spec
from .lab import LAB, SEEDS, LabOperator, lab_model, run_name
from .plots import mark_live_run, plot_seed_dots, plot_width_curves
from .sal_controls import CONTROLS, attention_curve, attention_summary, control_model
from .store import load_model, load_runs, make_run

__all__ = ["FAMILIES", "RunSpec", "family_specs", "spec", "LAB", "SEEDS", "LabOperator", "lab_model", "run_name",
           "mark_live_run", "plot_seed_dots", "plot_width_curves", "CONTROLS", "attention_curve",
           "attention_summary", "control_model", "load_model", "load_runs", "make_run"]
