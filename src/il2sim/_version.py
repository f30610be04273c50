"""The package version (one place; ``il2sim.__version__`` re-exports it)."""

__version__ = "0.1.0"
