"""Type inference for unannotated parameters: usage profiles, declared types, scoring."""
