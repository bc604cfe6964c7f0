"""Log scores of the candidate classes for one usage profile: whether each fits, how likely its
members and its name make it, and the project's own classes as rivals."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace

from remora_review.api_table import PROTOCOL_DUNDERS
from remora_review.infer.classes import OTHER_LABEL, Catalogue, ClassModel, class_words, name_words
from remora_review.infer.profile import UsageProfile
from remora_review.infer.weights import (
    LIBRARY_NAME,
    NAME_SMOOTH,
    PROJECT_MASS,
    PROJECT_MEMBER,
    PROJECT_NAME,
    SMOOTH,
    UNAWAITED_ASYNC,
    UNIMPORTED,
    UNKNOWN_ASSIGNED,
    VOTE_FLOOR,
)

PROJECT = "project:"  # key prefix of the project's classes in a posterior


def compatible(model: ClassModel, profile: UsageProfile,
               awaitable: frozenset[str] = frozenset()) -> float:
    """0 when the class cannot be the parameter's type, else a factor for soft mismatches.

    `awaitable`: classes with `__await__`; a method returning one (starlette's `request.form()`)
    may be awaited like an `async def`.
    """
    members = model.info.members
    factor = 1.0
    for call in profile.calls:
        member = members.get(call.name)
        if member is None:
            return 0.0
        if not member.accepts(call.n_args, call.keywords):
            return 0.0
        if member.kind == "method":
            if call.awaited and not member.is_async and member.returns not in awaitable:
                return 0.0
            if not call.awaited and member.is_async:
                factor *= UNAWAITED_ASYNC
    for attr in profile.attributes:
        if attr not in members:
            return 0.0
    for attr in profile.assigned:
        if attr not in members:
            factor *= UNKNOWN_ASSIGNED
    for protocol in profile.protocols:
        if protocol == "await" and model.pack is not None:
            if not model.info.has_protocol("await"):
                return 0.0
        elif not model.info.has_protocol(protocol):
            return 0.0
    return factor


# Dunders every instance of a Python class has, which API tables do not list.
_INSTANCE_DUNDERS = frozenset({"__class__", "__dict__", "__module__", "__doc__"})


def recorded(profile: UsageProfile) -> UsageProfile:
    """The profile without the members an API table does not record, so they neither rule a class
    out nor count for it: private names read or called (`table._prefixes`, common in code built on
    a library's internals) and the dunders every instance has. A profile left with no member keeps
    them all: nothing the table lists would then speak for any class. Private attributes written
    stay: a value that takes them is likelier the project's own. Builtins are checked against the
    whole profile: their members are known completely."""
    def kept(name: str) -> bool:
        return not (name.startswith("_") and not name.startswith("__")) and name not in _INSTANCE_DUNDERS

    read = frozenset(filter(kept, profile.attributes))
    calls = tuple(c for c in profile.calls if kept(c.name))
    if not (read or calls or profile.assigned):
        return profile
    return replace(profile, attributes=read, calls=calls)


def structure_loglik(model: ClassModel, profile: UsageProfile, total: float) -> float:
    """log P(C) + sum over used members of log P(member | C), naive Bayes with smoothing."""
    n_members = max(1, len(model.info.members))
    score = math.log((model.usages + SMOOTH) / (total + SMOOTH))
    for member in profile.members:
        count = model.member_counts.get(member, 0.0)
        score += math.log((count + SMOOTH) / (model.usages + SMOOTH * n_members))
    return score


def spoken_name(catalogue: Catalogue, profile: UsageProfile) -> str:
    """The name the name statistics read: the parameter's own, or where the packs never saw it
    (`p0`, `x`), the other name the code gives the value that they saw most (`self.connection
    = p0`)."""
    if catalogue.name_counts(profile.name):
        return profile.name
    seen = {n: sum(catalogue.name_counts(n).values()) for n in profile.other_names}
    best = max(seen, key=lambda n: (seen[n], n), default=None)
    if best is not None and seen[best] > 0:
        return best
    # a compound's head word (`namespace_metadata`: `metadata`), but not a flag's (`is_metadata`),
    # nor one the packs see mostly on other types (`return_value`: `value`)
    words = profile.name.strip("_").split("_")
    if len(words) < 2 or words[0] in _FLAG_WORDS:
        return profile.name
    counts = catalogue.name_counts(words[-1])
    if not counts or max(counts, key=lambda label: (counts[label], label)) == OTHER_LABEL:
        return profile.name
    return words[-1]


# The first words of names that name a flag, not a value of the class their last word names.
_FLAG_WORDS = frozenset({"is", "has", "have", "can", "should", "must", "use", "uses", "allow",
                         "enable", "disable", "include", "with", "without", "no", "skip", "keep",
                         "ignore", "show", "force", "do", "needs", "was", "will", "want", "num",
                         "n", "max", "min", "count"})


def name_logodds(catalogue: Catalogue, name: str) -> tuple[dict[str, float], float]:
    """How much more (or less) likely the parameter's name makes each class and builtin it was
    seen annotated with, and every other one (the same for all: seen with none of them)."""
    counts = catalogue.name_counts(name)
    seen = sum(counts.values())
    if not seen:
        return {}, 0.0
    # Annotations outside the candidates (str, Path, Any...) stay in `seen`: a name that is
    # usually something else lowers every library class's odds.
    total = catalogue.total_with_builtins
    out = {}
    for c, count in counts.items():
        if c in catalogue.prior_counts:
            prior = catalogue.prior_counts[c] / total
            out[c] = math.log((count + NAME_SMOOTH * prior) / (seen + NAME_SMOOTH) / prior)
    return out, math.log(NAME_SMOOTH / (seen + NAME_SMOOTH))


def other_logodds(catalogue: Catalogue, name: str) -> float:
    """How much more (or less) often than usual this name is annotated with some other class."""
    counts = catalogue.name_counts(name)
    seen = sum(counts.values())
    share = catalogue.other_share
    if not seen or not 0.0 < share < 1.0:
        return 0.0
    posterior = (counts.get(OTHER_LABEL, 0.0) + NAME_SMOOTH * share) / (seen + NAME_SMOOTH)
    return math.log(posterior / share)


@dataclass(frozen=True)
class Rivals:
    """The project's rival classes with their members, indexed by member: a repository of
    5,000 files has tens of thousands of classes, and each profile needs those holding every
    member it uses."""

    members: Mapping[str, frozenset[str]]
    holders: Mapping[str, frozenset[str]]  # member -> the rivals that have it
    order: Mapping[str, int]  # each rival's place in `members`, so scores keep its order
    named: Mapping[frozenset[str], frozenset[str]]  # class_words -> the rivals named so

    def __len__(self) -> int:
        return len(self.members)

    def having(self, used: frozenset[str]) -> list[str]:
        """The rivals with every member in `used` (not empty), in `members`' order."""
        sets = sorted((self.holders.get(m, frozenset()) for m in used), key=len)
        hit = set(sets[0]).intersection(*sets[1:])
        return sorted(hit, key=self.order.__getitem__)


def rivals_of(members: Mapping[str, frozenset[str]]) -> Rivals:
    holders: dict[str, set[str]] = defaultdict(set)
    for name, held in members.items():
        for member in held:
            holders[member].add(name)
    named: dict[frozenset[str], set[str]] = defaultdict(set)
    for name in members:
        named[class_words(name)].add(name)
    return Rivals(members, {m: frozenset(n) for m, n in holders.items()},
                  {name: i for i, name in enumerate(members)},
                  {w: frozenset(n) for w, n in named.items()})


def rival_scores(catalogue: Catalogue, profile: UsageProfile, rivals: Rivals,
                 use_name: bool) -> dict[str, float]:
    """Log scores of the project's classes (keys prefixed `PROJECT`) that have every member used."""
    used = profile.members
    if not rivals or not used:
        # Without members to compare there is no evidence for or against a project class;
        # the name statistics already weigh how often a name is something else.
        return {}
    prior = math.log(catalogue.total * PROJECT_MASS / len(rivals) / catalogue.total_with_builtins)
    spoken = spoken_name(catalogue, profile) if use_name else profile.name
    if use_name:
        prior += other_logodds(catalogue, spoken)
    dunders = [PROTOCOL_DUNDERS.get(p, (p,)) for p in profile.protocols if p != "await"]
    # Worked out once per project (Rivals): a repository of 5,000 files has tens of thousands
    # of classes, and a profile that uses only `add` fits thousands of them.
    named = rivals.named.get(name_words(spoken), frozenset()) if use_name else frozenset()
    fitting = rivals.having(used)
    if dunders:
        fitting = [name for name in fitting
                   if all(any(d in rivals.members[name] for d in ds) for ds in dunders)]
    # Every rival that fits scores the same but for its name: one dict of thousands, built at once.
    out = dict.fromkeys((PROJECT + name for name in fitting),
                        prior + len(used) * math.log(PROJECT_MEMBER))
    for name in named:
        key = PROJECT + name
        if key in out:
            out[key] += PROJECT_NAME
    return out


def inherited_votes(catalogue: Catalogue, votes: Mapping[str, float]) -> dict[str, float]:
    """The embedding's votes, the subclasses of the class voted for most given its vote where
    theirs is lower. A neighbour is a usage, labelled with the class its author annotated; what
    it does works as well on a subclass, so the neighbours' strongest label speaks for the
    subclasses too, and the choice between them is left to what does tell them apart: the
    priors, the members' counts and the name. (Fresh-pack dev set: rq's `pipeline` parameters, a
    redis `Pipeline` used for `hset` and `expire`, whose neighbours are labelled `Redis`.) Only
    the strongest: the lesser votes often go to a broad base many neighbours share
    (`Executable`), and passing those down lifted every sibling (a `Select` statement parameter
    lost its sure answer to `Update`). A vote for a subclass is not one for its base: the
    neighbour may use what only the subclass has."""
    out = dict(votes)
    if not votes:
        return out
    top = max(votes, key=lambda name: (votes[name], name))
    for sub in catalogue.subclasses.get(top, ()):
        if out.get(sub, 0.0) < votes[top]:
            out[sub] = votes[top]
    return out


def imported_votes(catalogue: Catalogue, votes: Mapping[str, float], context: frozenset[str]
                   ) -> dict[str, float]:
    """The embedding's votes, each vote for a class of a library the module does not import
    given to the nearest base of it that the module's libraries export, where that base's own
    vote is lower. The neighbours' labels follow the corpus (FastAPI apps outnumber Starlette
    ones), where a module that imports starlette and not fastapi holds a `Starlette` (the
    subclass keeps its vote, and loses most of its likelihood to `UNIMPORTED`)."""
    out = dict(votes)
    if not context:
        return out
    classes = catalogue.classes
    for name, vote in votes.items():
        if name not in classes or catalogue.roots[name] & context:
            continue
        held = [b for b in classes[name].info.bases if b in classes and catalogue.roots[b] & context]
        base = max(held, key=lambda b: (len(classes[b].info.bases), b), default=None)
        if base is not None and out.get(base, 0.0) < vote:
            out[base] = vote
    return out


def library_scores(catalogue: Catalogue, profile: UsageProfile, votes: Mapping[str, float] | None,
                   context: frozenset[str], use_name: bool,
                   used: Mapping[str, ClassModel] | None = None) -> dict[str, float]:
    """Log scores of the library classes and builtins that fit; `votes`: the embedding's, if
    any; `context`: the packs' libraries the module imports (a class of another one is less
    likely); `used`: classes whose statistics mix in the project's own uses
    (TypeInferer._used)."""
    seen_by_tables = recorded(profile)
    votes = inherited_votes(catalogue, imported_votes(catalogue, votes, context)) \
        if votes is not None else None
    candidates = catalogue.candidates(seen_by_tables)
    spoken = spoken_name(catalogue, profile) if use_name else profile.name
    names, unnamed = name_logodds(catalogue, spoken) if use_name else ({}, 0.0)
    scores: dict[str, float] = {}
    # Builtins are checked against the whole profile: their members are known completely.
    fits = {b.info.name: compatible(b, profile, catalogue.awaitable) for b in catalogue.builtins}
    used = used or {}
    models = [(c, used.get(c) or catalogue.classes[c]) for c in candidates
              if fits.get(catalogue.builtin_base.get(c, ""), 0.0) <= 0.0]
    models += [(b.info.name, b) for b in catalogue.builtins]
    total = catalogue.total_with_builtins
    for name, model in models:
        seen = seen_by_tables if model.pack is not None else profile
        factor = fits[name] if model.pack is None else compatible(model, seen, catalogue.awaitable)
        if factor <= 0.0:
            continue
        score = structure_loglik(model, seen, total) + math.log(factor)
        score += names.get(name, unnamed)
        if votes is not None and model.pack is not None:
            score += math.log(votes.get(name, 0.0) + VOTE_FLOOR)
        if context and model.pack is not None and not catalogue.roots[name] & context:
            score += math.log(UNIMPORTED)
        scores[name] = score
    if use_name:
        _add_named_after(catalogue, spoken, scores)
    return scores


def _add_named_after(catalogue: Catalogue, name: str, scores: dict[str, float]) -> None:
    """Raise the classes a parameter is named after (`form_data`: `FormData`), by as much as
    the packs' statistics for the name leave open. The statistics speak through the classes
    that fit the usage and through what they cannot rule out (other classes, `str`); a name seen
    annotated only with classes the usage rules out (fastapi's `form_data:
    OAuth2PasswordRequestForm` for a value read with `getlist`) is as good as unseen."""
    named_after = catalogue.by_words.get(name_words(name))
    if not named_after or not named_after & scores.keys():
        return
    counts = catalogue.name_counts(name)
    held = sum(n for label, n in counts.items()
               if label in scores or label not in catalogue.prior_counts)
    bonus = LIBRARY_NAME * NAME_SMOOTH / (held + NAME_SMOOTH)
    for c in named_after & scores.keys():
        scores[c] += bonus
