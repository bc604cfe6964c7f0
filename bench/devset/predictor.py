"""What every predictor under measurement returns: ranked annotations for unannotated parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Prediction:
    function: str
    parameter: str
    line: int  # line of the parameter in the source the predictor was given
    candidates: tuple[tuple[str, float], ...]  # (dotted annotation, score), best first
    confidence: float


# (stripped source, path in the release, project name) -> predictions; a gold parameter matches by
# (line, parameter name). The project name lets a predictor see the rest of that project.
Predictor = Callable[[str, str, str], list[Prediction]]
