"""Helpers behind the Session 5 notebooks: cost model, operator layers, data, training, widgets."""
from .cost import Cost, count

__all__ = ["Cost", "count"]
__version__ = "0.1.0"
