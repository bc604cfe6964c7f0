"""Whether a policy applies to a file: its path globs, the modules the file imports, a cheap text filter."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from remora_review.packs.manifest import Policy
from remora_review.pysource import imports as reader


def path_matches(path: str, globs: Sequence[str]) -> bool:
    """Whether a repository-relative path matches any glob (no globs: every path).

    `*` and `?` stay within one directory, `**` spans any number of them, and a glob with no `/`
    matches the file name in any directory (as in .gitignore).
    """
    if not globs:
        return True
    name = path.rsplit("/", 1)[-1]
    return any(_glob_regex(g).fullmatch(path if "/" in g else name) for g in globs)


@lru_cache(maxsize=256)
def _glob_regex(glob: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and "]" in glob[i + 1 :]:
            end = glob.index("]", i + 2 if glob[i + 1 : i + 2] in ("!", "]") else i + 1)
            body = glob[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out))


def imported_modules(source: str) -> frozenset[str]:
    """Absolute modules a file imports, with `from a import b` counted as `a` and `a.b` (b may be
    a module): pysource/imports.py's reader, the one activation uses too."""
    found = set(reader.imported_modules(source))
    found.update(f"{module}.{name}" for module, names in reader.from_imports(source)
                 if not module.startswith(".") for name in names)
    return frozenset(found)


def may_call(source: str, policy: Policy) -> bool:
    """A cheap filter: every way to reach `a.b.info` spells `info` somewhere in the file."""
    return any(call.rsplit(".", 1)[-1] in source for call in policy.calls)


def imports_satisfied(required: Sequence[str], imported: frozenset[str]) -> bool:
    if not required:
        return True
    return any(i == r or i.startswith(r + ".") for r in required for i in imported)
