"""The kinds of declared type that bear on an unannotated parameter, and one such declaration."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class EvidenceKind(enum.Enum):
    FLOW = "flow"  # passed on to an annotated parameter of the project
    LIBRARY_FLOW = "library_flow"  # passed on to an annotated parameter of a library
    RELAYED = "relayed"  # only passed on, and to annotated parameters of the project
    OVERRIDE = "override"  # the method overrides one that annotates this position
    OVERRIDDEN = "overridden"  # the project's subclasses annotate it where they override the method
    SIBLING = "sibling"  # same-named methods of the project's other classes agree on it
    CALLER = "caller"  # the project's calls pass an annotated value in
    CALLER_CALL = "caller_call"  # they pass what a library call returns (`create_engine(url)`)
    FALLBACK = "fallback"  # what stands in for it where it is None (`p or self.connection`)
    RETURN = "return"  # returned as it is under an annotated return type
    NAME = "name"  # the project's habit for the parameter's name (a name signal)
    FRAMEWORK = "framework"  # what a library passes a function it is told to call (@compiles)


@dataclass(frozen=True)
class Hint:
    kind: EvidenceKind
    annotation: str  # dotted class path as written where it was declared


# Several declarations of one of these kinds are joined into their nearest common base.
JOINED_KINDS = (EvidenceKind.CALLER, EvidenceKind.CALLER_CALL, EvidenceKind.OVERRIDDEN,
                EvidenceKind.FRAMEWORK)
# A library's parameter is typed as broadly as the library accepts (`execute(statement:
# Executable)`): what users pass is as often a subclass (a `Select`), so its share is spread over
# the class and its subclasses as the usage and the priors weigh them. So is a fallback's: the
# value that stands in for a parameter is of its class or a base of it (fresh-pack dev set: rq
# declares `pipeline: Pipeline` where the fallback is its connection, a `Redis`), and a relayed
# value's (only passed on, so its class is the parameter's or a subclass).
BOUND_KINDS = frozenset({EvidenceKind.LIBRARY_FLOW, EvidenceKind.FALLBACK, EvidenceKind.RELAYED})
# A value a library call makes is of exactly its class, where the parameter it is passed to is
# often declared as a base (`right: ColumnElement` given `literal(...)`, a `BindParameter`): its
# share is spread over the class and its bases as the usage and the priors weigh them.
LOWER_BOUND_KINDS = frozenset({EvidenceKind.CALLER_CALL})
