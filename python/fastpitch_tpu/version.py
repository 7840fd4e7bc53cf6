"""The package's version, in a module of its own so that any module can read it without importing
the package root (which would tie every layer to the public façade)."""

__version__ = "0.1.0"
