"""tito: the TinyTorch course toolkit (export, test, status, ...)."""

__version__ = "0.1.0"
