"""The allow-list of tools a planner may run. Nothing outside it can be chosen, whatever a diff,
a comment or a docstring says: a planner's choice is looked up here and refused otherwise."""

from __future__ import annotations

from remora_review.errors import UserError

# name -> what it does; each is a step the engine runs today (retrieve, type inference, policies).
ALLOWED_TOOLS: dict[str, str] = {
    "retrieve": "nearest pack documents for a text (the pack's embedding index)",
    "infer_type": "rank library classes for an unannotated parameter's usage profile",
    "check_policy": "match a call against the active packs' policies",
}


def require_tool(name: str) -> str:
    if name not in ALLOWED_TOOLS:
        raise UserError(f"tool {name!r} is not allowed (allowed: {', '.join(sorted(ALLOWED_TOOLS))})")
    return name
