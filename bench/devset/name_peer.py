"""The name peer: a parameter's majority annotation by its name alone, mined from the libraries' source."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import libcst.metadata as meta

from bench.devset.dataset import library_versions, write_atomic
from bench.devset.extract import SELF_NAMES, ParamLocator
from bench.devset.predictor import Prediction, Predictor
from bench.devset.resolve import LIBRARIES, AnnotationJudge, Resolver, module_names

_HERE = Path(__file__).parent
_SKIP_PARTS = frozenset({"tests", "test", "testing"})
TOP = 5


@dataclass(frozen=True)
class NameTable:
    """Parameter name -> class key -> how often the libraries annotate that name with that class."""

    counts: Mapping[str, Mapping[str, int]]

    def predict(
        self, name: str, libraries: frozenset[str] | None = None
    ) -> tuple[tuple[tuple[str, float], ...], float] | None:
        """The majority type for a name, among the classes of `libraries` (top-level modules)."""
        seen = self.counts.get(name)
        if seen and libraries is not None:
            seen = {k: v for k, v in seen.items() if k.split(".")[0] in libraries}
        if not seen:
            return None
        total = sum(seen.values())
        ranked = sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))
        candidates = tuple((key, count / total) for key, count in ranked[:TOP])
        return candidates, ranked[0][1] / total

    @property
    def annotated(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())


# The libraries whose classes a file can be given, by what it imports: the same activation the
# product uses (fastapi re-exports starlette's classes, so importing fastapi opens both).
ACTIVATION = {"sqlalchemy": ("sqlalchemy",), "httpx": ("httpx",),
              "fastapi": ("fastapi", "starlette"), "starlette": ("fastapi", "starlette")}


def imported_libraries(
    source: str, activation: Mapping[str, tuple[str, ...]] = ACTIVATION
) -> frozenset[str]:
    from remora_review.activation import imported_modules

    tops = {m.split(".")[0] for m in imported_modules(source)}
    return frozenset(lib for top in tops for lib in activation.get(top, ()))


def library_files(library: str) -> Iterator[tuple[Path, str, str]]:
    """(file, module name, package) for every module of an installed library, its tests left out."""
    spec = importlib.util.find_spec(library)
    if spec is None or spec.origin is None:
        return
    root = Path(spec.origin).parent
    for file in sorted(root.rglob("*.py")):
        rel = file.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if any(p in _SKIP_PARTS for p in parts):
            continue
        if parts[-1] == "__init__":
            parts.pop()
            package = ".".join(parts)
        else:
            package = ".".join(parts[:-1])
        yield file, ".".join(parts), package


def mine_source(
    source: str, resolver: Resolver, module_name: str | None = None, package: str | None = None
) -> Counter[tuple[str, str]]:
    """(parameter name, class key) counts of one module, by the same resolution as the gold."""
    module = cst.parse_module(source)
    judge = AnnotationJudge(module_names(module, module_name, package), resolver)
    locator = ParamLocator()
    module.visit(locator)
    out: Counter[tuple[str, str]] = Counter()
    for param, site in locator.sites.items():
        if param.annotation is None or param in locator.stars or site.parameter in SELF_NAMES:
            continue
        key = judge.judge(param.annotation.annotation).key
        if key is not None:
            out[(site.parameter, key)] += 1
    return out


def mine(resolver: Resolver, libraries: tuple[str, ...] = LIBRARIES) -> NameTable:
    counts: dict[str, Counter[str]] = {}
    for library in libraries:
        for file, module_name, package in library_files(library):
            try:
                found = mine_source(file.read_text("utf-8"), resolver, module_name, package)
            except (cst.ParserSyntaxError, UnicodeDecodeError):
                continue
            for (name, key), n in found.items():
                counts.setdefault(name, Counter())[key] += n
    return NameTable({name: dict(c) for name, c in counts.items()})


def load_or_mine(cache: Path, resolver: Resolver) -> NameTable:
    digest = hashlib.sha256()
    for name in ("name_peer.py", "resolve.py", "extract.py"):
        digest.update((_HERE / name).read_bytes())
    digest.update(json.dumps(library_versions()).encode())
    path = cache / f"name_peer-{digest.hexdigest()[:16]}.json"
    if path.is_file():
        return NameTable(json.loads(path.read_text("utf-8")))
    table = mine(resolver)
    write_atomic(path, json.dumps({k: dict(v) for k, v in table.counts.items()}, sort_keys=True))
    return table


def name_peer(table: NameTable, activation: Mapping[str, tuple[str, ...]] = ACTIVATION) -> Predictor:
    """Predicts the majority type of every unannotated parameter whose name the libraries use;
    `activation`: the libraries whose classes a file can be given, by the top-level modules it imports."""

    def predict(source: str, path: str, project: str) -> list[Prediction]:
        libraries = imported_libraries(source, activation)
        if not libraries:
            return []
        wrapper = meta.MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
        locator = ParamLocator()
        wrapper.module.visit(locator)
        known = [
            (param, site)
            for param, site in locator.sites.items()
            if param.annotation is None
            and param not in locator.stars
            and site.parameter not in SELF_NAMES
            and site.parameter in table.counts
        ]
        if not known:
            return []  # positions cost a full pass: only pay it when there is something to say
        positions = wrapper.resolve(meta.PositionProvider)
        out = []
        for param, site in known:
            found = table.predict(site.parameter, libraries)
            if found is None:
                continue
            candidates, confidence = found
            line = positions[param.name].start.line
            out.append(Prediction(site.function, site.parameter, line, candidates, confidence))
        return out

    return predict
