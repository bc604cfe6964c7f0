"""remora-review: a Git-native code review bot for Python, driven by language packs."""

__version__ = "0.1.0"
