"""NnablaNAS: hardware-aware neural architecture search on nnabla."""

__version__ = "0.2.0"
