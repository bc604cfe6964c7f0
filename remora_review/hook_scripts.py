'''The plain git hooks' text; `hooks/` at the repository root holds identical copies for hand installs.'''

from __future__ import annotations

import shlex
from collections.abc import Mapping
from types import MappingProxyType

MARKER = "# remora-review hook v1"

# Which executable a hook runs; the same in both hooks but for the advice on skipping it once.
def _find_executable(verb: str) -> str:
    return r'''INSTALLED_SCRIPT=''
INSTALLED_PYTHON=''
# REMORA_REVIEW first; then what ran install-hooks (its environment need not be on PATH); then PATH.
if [ -n "${REMORA_REVIEW:-}" ]; then
    set -- "$REMORA_REVIEW"
elif [ -x "$INSTALLED_SCRIPT" ]; then
    set -- "$INSTALLED_SCRIPT"
elif [ -x "$INSTALLED_PYTHON" ]; then
    set -- "$INSTALLED_PYTHON" -m remora_review
else
    set -- remora-review
fi
if ! command -v "$1" >/dev/null 2>&1; then
    echo "remora-review hook: '$1' is not on PATH." >&2
    echo "Install it (pip install remora-review), activate the environment that has it," >&2
    echo "or set REMORA_REVIEW to its path. To ''' + verb + r''' without the check once: git ''' + verb + r''' --no-verify" >&2
    exit 1
fi
'''


PRE_COMMIT = r'''#!/bin/sh
# remora-review hook v1
# pre-commit: checks the staged Python changes with `remora-review check`. It never edits a file.
# Installed by `remora-review install-hooks` (or copied by hand into the hooks directory).
# Skip it once with `git commit --no-verify`; set REMORA_REVIEW to use another executable.
''' + _find_executable("commit") + r'''exec "$@" check
'''

PRE_PUSH = r'''#!/bin/sh
# remora-review hook v1
# pre-push: checks each pushed branch with `remora-review check --diff <remote-sha>..<local-sha>`.
# Installed by `remora-review install-hooks` (or copied by hand into the hooks directory).
# Skip it once with `git push --no-verify`; set REMORA_REVIEW to use another executable.
remote="$1"
''' + _find_executable("push") + r'''
is_zero() {
    case "$1" in
        *[!0]*) return 1 ;;
        *) return 0 ;;
    esac
}

status=0
# githooks(5): one line per ref, "<local ref> <local sha> <remote ref> <remote sha>".
while read -r local_ref local_sha remote_ref remote_sha; do
    [ -n "$local_sha" ] || continue
    is_zero "$local_sha" && continue  # a deleted ref: nothing to check
    base="$remote_sha"
    if is_zero "$base" || ! git cat-file -e "$base^{commit}" 2>/dev/null; then
        # A new branch, or a remote commit this clone lacks: start from the remote's default branch.
        base=""
        default=$(git symbolic-ref --quiet "refs/remotes/$remote/HEAD" 2>/dev/null)
        if [ -n "$default" ]; then
            base=$(git merge-base "$default" "$local_sha" 2>/dev/null)
        fi
        if [ -z "$base" ]; then
            echo "remora-review hook: $local_ref: nothing to compare it with (no $remote/HEAD; try" \
                 "git remote set-head $remote --auto); not checked" >&2
            continue
        fi
    fi
    [ "$base" = "$local_sha" ] && continue  # nothing new on this ref
    "$@" check --diff "$base..$local_sha" </dev/null || status=$?
done
exit $status
'''

HOOKS: Mapping[str, str] = MappingProxyType({"pre-commit": PRE_COMMIT, "pre-push": PRE_PUSH})

# The lines install-hooks fills in; the copies in hooks/ keep them empty (PATH, or REMORA_REVIEW).
_SCRIPT_LINE = "INSTALLED_SCRIPT=''\n"
_PYTHON_LINE = "INSTALLED_PYTHON=''\n"


def render(name: str, script: str = "", python: str = "") -> str:
    """Hook `name` recording the absolute path of the remora-review executable that installed it,
    or of the Python to run `-m remora_review` with (as pre-commit's own hook records the Python
    that installed it), so it works from a shell whose PATH lacks that environment."""
    text = HOOKS[name]
    return (text.replace(_SCRIPT_LINE, f"INSTALLED_SCRIPT={shlex.quote(script)}\n" if script
                         else _SCRIPT_LINE)
                .replace(_PYTHON_LINE, f"INSTALLED_PYTHON={shlex.quote(python)}\n" if python
                         else _PYTHON_LINE))
