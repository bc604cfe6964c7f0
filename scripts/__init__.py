"""Maintenance scripts (pack builds, the training corpus, the demo)."""
