"""The project under review as facts: per-module declarations, one index, the git scan."""
