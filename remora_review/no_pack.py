"""`remora-review check` on a commit that activates no pack, answered before the full path loads.

Most commits touch no file that imports a pack's library, and then the hook must cost about what
Python's start-up costs. This path reads the staged Python files through one `git cat-file
--batch` (after one `git diff`, or `git ls-files` for the files pre-commit names), scans their
imports and those of the project modules they import (activation.py, as the full path does) and
takes the installed packs' triggers from packs/discovery_cache.py. When no file activates a pack,
the answer is the full path's own for such a commit: nothing to check, "All checks passed.", exit
0. Whatever it cannot answer exactly, it leaves to the full path by returning None, as if this
module did not exist: a repository that configures remora-review, a range or `--all`, another
output format or option (`--fix` is answered too, unless a file has unstaged work to note), a
file the full path would skip with a note (binary, not UTF-8, too big, a symlink, missing),
triggers not remembered or out of date.

When a file does activate a pack (and nothing above sent the run to the full path), the whole
command runs in the warm server if a current one runs (check_client.py): it reads
the settings, the change and the packs itself, as the full path would here, and this process
prints its answer. With `--fix`, or with no server, the full path runs (and starts one).

Standard library only (no dataclasses, pydantic, gitpython or libcst): it runs on every commit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence

from remora_review import source_bytes
from remora_review.activation import PackTrigger, activations
from remora_review.blob_batch import BlobBatch
from remora_review.diff_records import parse_raw
from remora_review.packs import discovery_cache
from remora_review.user_dirs import default_cache_root, default_install_dir

# As config_file.CoreSettings' defaults: the settings of a repository that configures nothing.
_MAX_FILE_SIZE = 1_000_000
_PY_SUFFIXES = (".py", ".pyi")
# Pinned as git.CONFIG pins them: output formats whatever the user's config says.
_GIT = ("git", "-c", "core.quotepath=off", "-c", "diff.relative=false")


def answer(argv: Sequence[str], environ: Mapping[str, str], cwd: str) -> int | None:
    """The exit status of `remora-review check ARGV` when no file activates a pack (its output
    printed), or None: run the full path."""
    fix = "--fix" in argv  # the remora-review-fix hook: nothing to fix where no pack is active
    argv = [a for a in argv if a != "--fix"]
    if any(a.startswith("-") for a in argv) or not _plain_environment(environ, cwd):
        return None
    try:
        with open(os.path.join(cwd, "pyproject.toml"), "rb") as fh:
            if b"remora-review" in fh.read():  # a [tool.remora-review] table: validate it there
                return None
    except FileNotFoundError:
        pass
    except OSError:
        return None
    found = discovery_cache.read(str(default_cache_root(environ).parent),
                                 str(default_install_dir(environ)))
    if found is None:
        return None
    try:
        triggers = [PackTrigger(str(f["name"]), str(f["kind"]),
                                tuple(str(m) for m in f["activate_on"]))  # type: ignore[attr-defined]
                    for f in found]
    except (KeyError, TypeError):
        return None
    entries = _entries(argv, cwd, environ)
    if entries is None or (fix and _unstaged(cwd, environ, [p for p, _, _ in entries])):
        return None
    try:
        active = _activates(entries, triggers, cwd, environ)
    except _Undecided:
        return None
    if active is None:
        return None
    if active:
        if fix:
            return None  # the hook writes what it fixes: the full path
        from remora_review.check_client import check_in_server

        return check_in_server(argv, environ, cwd)
    sys.stdout.write("All checks passed.\n")  # output.text for a report with no finding
    return 0


def _activates(entries: Sequence[tuple[str, str, str]], triggers: Sequence[PackTrigger],
               cwd: str, environ: Mapping[str, str]) -> bool | None:
    """Whether a file activates a pack; None: a file the full path would skip with a note."""
    with _Blobs(cwd, environ) as blobs:
        texts = []
        for path, mode, object_id in entries:
            text = blobs.text(object_id) if mode.startswith("100") else None
            if text is None:
                return None  # a symlink, a submodule, binary, not UTF-8 or too big: noted there
            texts.append((path, text))
        # A file that imports a pack's library itself needs no reading of its neighbours.
        scanned: dict[str, frozenset[str]] = {}
        return any(activations(texts, triggers, (), scanned=scanned)) or any(
            activations(texts, triggers, (), blobs.existing, scanned))  # follow-imports on


def _plain_environment(environ: Mapping[str, str], cwd: str) -> bool:
    """A commit's hook in the top of its work tree (pre-commit runs hooks there; git exports
    GIT_DIR to hooks in a linked worktree), not a pre-push range or a work tree set apart."""
    if environ.get("PRE_COMMIT_FROM_REF") or environ.get("PRE_COMMIT_TO_REF"):
        return False
    if environ.get("GIT_WORK_TREE"):
        return False
    return os.path.lexists(os.path.join(cwd, ".git"))


def _git(cwd: str, environ: Mapping[str, str], *args: str) -> bytes | None:
    env = {**environ, "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run([*_GIT, *args], cwd=cwd, env=env, capture_output=True,
                              stdin=subprocess.DEVNULL)
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def _entries(argv: Sequence[str], cwd: str,
             environ: Mapping[str, str]) -> list[tuple[str, str, str]] | None:
    """(path, mode, blob id) of each staged Python file the full path would review: the named
    ones (every named one counts, whatever its suffix), or every staged one."""
    if argv:
        names = [os.path.relpath(os.path.join(cwd, a), cwd).replace(os.sep, "/") for a in argv]
        if any(n == ".." or n.startswith("../") for n in names):
            return None  # outside the repository: an error there
        found = _index_entries(cwd, environ, names)
        if found is None or any(n not in found for n in names):
            return None  # not in the index (or in conflict): read, or skipped with a note, there
        return [(n, *found[n]) for n in dict.fromkeys(names)]
    out = _git(cwd, environ, "diff", "--cached", "--no-ext-diff", "--no-textconv", "-M", "--raw",
               "-z", "--no-abbrev", "--")
    if out is None:
        return None
    return [(path, mode, object_id) for status, path, _, object_id, mode in parse_raw(out)
            if status != "deleted" and path.endswith(_PY_SUFFIXES) and object_id]


def _index_entries(cwd: str, environ: Mapping[str, str],
                   paths: Sequence[str]) -> dict[str, tuple[str, str]] | None:
    """path -> (mode, blob id) of those `paths` the index holds at stage 0, from one `git
    ls-files`; None when git cannot say."""
    out = _git(cwd, environ, "--literal-pathspecs", "ls-files", "-s", "-z", "--", *paths)
    if out is None:
        return None
    found = {}
    for record in out.split(b"\0"):
        meta, _, name = record.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[2] == b"0":
            found[name.decode("utf-8", "surrogateescape")] = (parts[0].decode(), parts[1].decode())
    return found


def _unstaged(cwd: str, environ: Mapping[str, str], paths: Sequence[str]) -> bool:
    """Whether any of `paths` has work not staged (the full path notes it is not fixed), or git
    cannot say."""
    if not paths:
        return False
    out = _git(cwd, environ, "--literal-pathspecs", "diff", "--no-ext-diff", "--no-textconv",
               "--name-only", "-z", "--", *paths)
    return out is None or bool(out.strip(b"\0"))


class _Undecided(Exception):
    """Raised inside the answer where only the full path can decide."""


class _Blobs:
    """The blobs the answer reads, through one `git cat-file --batch` (blob_batch.py), decoded as
    the full path decodes them (source_bytes.py)."""

    def __init__(self, cwd: str, environ: Mapping[str, str]) -> None:
        self._cwd, self._environ = cwd, environ
        self._batch = BlobBatch(_GIT, cwd, {**environ, "LC_ALL": "C"})

    def __enter__(self) -> _Blobs:
        return self

    def __exit__(self, *exc: object) -> None:
        self._batch.close()

    def text(self, name: str) -> str | None:
        """The text of blob `name` (an id or `:path`) as the full path reads it; None when there
        is none, or it would be skipped there (binary, not UTF-8, over the size limit)."""
        try:
            found = self._batch.read(name)
        except EOFError:
            raise _Undecided from None  # git stopped answering: the full path says why
        if found is None or found[0] != b"blob" or len(found[1]) > _MAX_FILE_SIZE:
            return None
        decoded = source_bytes.decode(found[1])
        return None if isinstance(decoded, str) else decoded[0]

    def existing(self, paths: set[str]) -> dict[str, str]:
        """Activation's reader for follow-imports: the staged texts of those paths the index
        holds as regular files (as sources.read_existing reads them: one `git ls-files` for
        every candidate, most of which do not exist, then their blobs)."""
        found = _index_entries(self._cwd, self._environ, sorted(paths))
        if found is None:
            raise _Undecided  # git could not say: the full path answers
        texts = {p: self.text(object_id) for p, (mode, object_id) in found.items()
                 if p in paths and mode.startswith("100")}
        return {p: t for p, t in texts.items() if t is not None}
