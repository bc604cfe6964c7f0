"""Reading Python source: one rule each for what the checks and remora-train both need."""
