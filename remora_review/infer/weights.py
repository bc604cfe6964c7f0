"""Every tuned constant of type inference, beside the dev-set figures it came from.

The figures are from `bench/devset/run.py` (11 projects, 1,478 library-typed parameters; README,
"Type inference"). When most of these constants were tuned, the default threshold 0.9 gave
98.8 % precision at 80.7 % coverage names kept, 98.7 % at 52.2 % names blind, and 47 findings on
the 5,782 parameters typed otherwise; with every such annotation of a project stripped at once
(`bench/devset/untyped.py`), 98.5 % at 77.7 % and 98.1 % at 50.2 %. With the rules added since
(2026-12-06): 99.4 % at 87.5 % and 99.2 % at 69.5 % one file at a time, 43 findings; 98.9 % at
85.4 % and 98.8 % at 67.1 % untyped. Change one of these and re-run both, and `fresh.py`.
"""

from __future__ import annotations

from collections.abc import Mapping

from remora_review.infer.evidence import EvidenceKind

# --- priors ---------------------------------------------------------------------------------

# Builtin types compete with the library's classes, so `d.get(k)` on a dict is not forced onto a
# library class that happens to have `get`. They are never proposed. Weights: rough shares of
# unannotated parameters in real code. `Exception`: an error handler's or a logger's `exc`, read
# for `args` and `str(exc)`, is no library's `HTTPException` because the library's exceptions are
# the only classes in the packs with `args` (starlette-admin's `field_error_payload(exc:
# Exception)`); unlike the others, it does not rule out its library subclasses where it fits.
BUILTIN_SHARES: Mapping[str, float] = {
    "str": 0.3, "dict": 0.2, "list": 0.2, "int": 0.1, "bytes": 0.05, "set": 0.05, "tuple": 0.05,
    "float": 0.05, "Exception": 0.02,
}
BUILTIN_MASS = 0.5  # pseudo-usages of builtins, as a fraction of the packs' mined usages
# Pseudo-usages of a class exported near its package top (`httpx.Client`): 1 + this / depth. A
# library's own source rarely annotates parameters with its main classes.
PROMINENCE = 3.0

# --- the usage (structure) ------------------------------------------------------------------

SMOOTH = 0.5  # pseudo-count per member in the naive-Bayes member likelihoods
# How much the project's own annotated parameters weigh beside the pack's mined usages where
# they choose between a library class and its subclass (TypeInferer._used): their weight is
# n / (n + PROJECT_USES) for n such parameters. On the dev set, 20 made the one-file mode's blind
# coverage drop by 0.5 points, 50 by 0.3, with names kept up by 0.2 either way.
PROJECT_USES = 50.0
UNAWAITED_ASYNC = 0.05  # a coroutine left un-awaited is rare; the sync twin is likelier
# An attribute written that the class does not list: many classes accept new attributes, so it
# only lowers the odds; a known one is better evidence.
UNKNOWN_ASSIGNED = 0.2

# --- names and embeddings -------------------------------------------------------------------

NAME_SMOOTH = 2.0  # pseudo-count pulling a name's type distribution towards the prior
EMB_TEMPERATURE = 0.05
VOTE_FLOOR = 0.02  # a class no neighbour votes for keeps this much of an embedding vote

# --- declared types -------------------------------------------------------------------------

# The share of the posterior a declared type takes for the class it names, the model keeping the
# rest: about the rate at which that kind, standing alone, names exactly the parameter's class on
# the dev set (both modes): same-named methods of other project classes ("sibling") 96-97%, the
# project's habit for the parameter's name ("name") 98%, callers 91-93%, overriding methods 90%,
# returns 88%. A flow into an annotated parameter names a bound, not the class (`DDLCompiler` for
# an `MSDDLCompiler`): 84-86% exact, and its misses repeat across a project's functions, so it is
# given less. A fallback (`p or self.connection`) bounds the class too, at the caller's weight.
# So does a value used for nothing but being passed on to the project's annotated parameters
# ("relayed"): with no use of its own to weigh a subclass by, it takes the bound's class at the
# caller's weight (project untyped: 98.6 % at 78.1 % -> 98.5 % at 78.7 % names kept, 98.2 % at
# 51.5 % -> 98.2 % at 53.0 % blind, with bounds spread as the exact declarations weigh them; the
# same in the module's rounds, with the rebuilt sqlalchemy pack: 79.7 % -> 80.0 % and 53.4 % ->
# 54.2 % at the same precision).
HINT_WEIGHTS: Mapping[EvidenceKind, float] = {
    EvidenceKind.FLOW: 0.5, EvidenceKind.LIBRARY_FLOW: 0.6, EvidenceKind.OVERRIDE: 0.9,
    EvidenceKind.OVERRIDDEN: 0.9, EvidenceKind.SIBLING: 0.95, EvidenceKind.CALLER: 0.9,
    EvidenceKind.RETURN: 0.85, EvidenceKind.NAME: 0.92, EvidenceKind.CALLER_CALL: 0.6,
    EvidenceKind.FRAMEWORK: 0.97, EvidenceKind.FALLBACK: 0.9, EvidenceKind.RELAYED: 0.9,
}
# What a library passes a function it is told to call (`@compiles`: the dialect's compiler; a
# Starlette endpoint: the request; a SQLAlchemy event listener: what the event declares) is
# what the function is given at run time, whatever its authors annotate: the dev set's annotations
# name that exact class 30 times of 34 (the others name a base: `DDLCompiler` in alembic's sqlite
# module). It is weighed as certain, not at that rate, so that the functions are sure enough
# (LINKED) to declare the helpers they pass the compiler to: with the caller's 0.9, alembic was at
# 47.2 % coverage, 91.9 % precision; with 0.97, 48.6 %, 93.6 % (project untyped, names kept).
# A caller's value that a library call returns (`operand = literal(...)`) is of the exact class
# the call makes, where the parameter is often declared as its base (`right: ColumnElement` given
# a `BindParameter`): at the caller's weight it made two false findings in the one-file mode
# (alembic's `object_: SchemaItem` given a `Table`), so it takes less, like a library flow, and
# is sure where the usage agrees.
# The project's habit for a parameter name counts from this many annotated parameters of that
# name, when at least this share of them name one class (`request: Request` throughout a web
# app): 98% exact on the dev set.
NAME_SEEN = 3
NAME_AGREE = 0.8

# --- the project's own classes --------------------------------------------------------------

# They compete too, never proposed: a usage that fits the project's `FilterContext` as well as a
# library class is not sure to be the library's. They share this much prior mass (as a fraction
# of the packs' mined usages: on the dev set, parameters typed with other classes are about as
# many as the library-typed ones); each member a usage touches counts with this likelihood, and a
# parameter named for the class gives this log-odds (`op_container` for `OpContainer`, `field`
# for `BaseField`). With them, false findings on other-typed parameters at 0.6 went from 161 to 79.
PROJECT_MASS = 0.5
PROJECT_MEMBER = 0.25
PROJECT_NAME = 3.0
# A library class a parameter is named after (`form_data`, `FormData`) gets at most this log-odds,
# shrunk by the name's own statistics (scoring._add_named_after): untyped names-kept coverage
# 80.1% -> 81.8% at 98.6%, one-file false findings unchanged (45). At full strength, without the
# shrinking, `column: MODEL_ATTR` and the like made ten more.
LIBRARY_NAME = 2.0

# --- the module -----------------------------------------------------------------------------

# A class of a library the module does not import, where it imports another of the packs'
# libraries, keeps this much of its likelihood: a module that imports only starlette takes a
# `Starlette`, not the `FastAPI` subclass that fits the same usage and that the name statistics
# favour.
UNIMPORTED = 0.02
# A module named for one of a library's sub-packages (`ddl/mssql.py`, `sqlalchemy.dialects.mssql`)
# works with that sub-package's classes: where the usage fits a class and exactly one subclass of
# it from there (`DDLCompiler`, `MSDDLCompiler`), the subclass takes this share of its mass. On the
# dev set the refinement names the annotated class every time it applies; it is kept below the
# sure hints all the same, as one project (alembic's dialect modules) is all that measures it.
PLACE_SHARE = 0.9
# A library's asyncio twins of its classes (`redis.asyncio.Redis`, `redis.Redis`) share every
# command: where the usage fits both, the function's colour decides, and the twin of the other
# colour gives this share of its mass to the one of the function's. On the fresh-pack dev set
# the colour names the annotated twin for 202 of 204 parameters typed with a twin (pottery,
# redis-om, rq, django-rq; the two others are in redis-om); without it, redis-om's sync package,
# generated from its async one whose declarations name the async twins, went wholly to them.
TWIN_SHARE = 0.95

# --- rounds over the module's linked parameters ---------------------------------------------

# A prediction this sure is a declaration for the parameters it is passed to or from, in the
# module and across the project: the default threshold, so what the check would report is what
# it passes on. At 0.95 a value declared by one caller (0.9 + a tenth of what its uses say)
# stopped there: a request handed from a route to a helper and on to the widgets it renders
# reached the helper only. Project untyped, names kept 82.5 % -> 83.6 % (98.8 % -> 98.9 %
# precision), blind 59.3 % -> 64.1 % (98.5 % -> 98.7 %); one file, blind 63.7 % -> 67.9 %, names
# kept 86.0 % -> 86.3 %, false findings on other-typed parameters 39 -> 41 (two `Selectable`
# unions taken for the `Select` they hold). 0.92 gave half the gain; 0.85 less names kept. A
# chain stops where the callers disagree (a Session and a str literal join into nothing).
LINKED = 0.9
HOPS = 3  # how far uses and sure predictions travel along chains of pass-through parameters

# --- rounds over the whole project (infer/propagation.py) -----------------------------------

# Rounds in which a sure prediction (LINKED) in one module is a declaration for the others (one
# round: none); they stop early at a fixed point. Not tuned: a bound on the cost (each round
# predicts again the modules with a parameter not yet sure).
PROJECT_ROUNDS = 4
# The habit for a parameter name that the project does not annotate, read from the other
# modules' sure predictions instead: from this many, when at least this share name one class.
HABIT_SEEN = 5
HABIT_AGREE = 0.95
