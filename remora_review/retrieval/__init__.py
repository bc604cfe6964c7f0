"""Embedding models and vector indexes behind small protocols; each backend imports its library lazily."""
