"""Dev-set harness: the type-hint check measured on published code that uses the packs' libraries."""
