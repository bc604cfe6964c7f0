"""Sub-commands of the remora-review CLI, one module each."""
