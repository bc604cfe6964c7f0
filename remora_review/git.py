"""Every git call of the product: run, the repository root, git paths, tree entries, diffs, and
blobs through one `git cat-file --batch` process per run.

Plain subprocess plumbing (as pre-commit's git.py does): the hook's no-pack path runs through here
and must not pay for importing gitpython.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import subprocess
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from remora_review.blob_batch import BlobBatch
from remora_review.errors import UserError

# Options that pin git's output format whatever the user's config says (mnemonic prefixes,
# external diff drivers, quoting of non-ASCII names, blank context lines, colours).
CONFIG = (
    "-c", "core.quotepath=off",
    "-c", "diff.noprefix=false",
    "-c", "diff.mnemonicPrefix=false",
    "-c", "diff.suppressBlankEmpty=false",
    "-c", "color.ui=never",
    "-c", "diff.relative=false",
)
DIFF_OPTS = ("--no-color", "--no-ext-diff", "--no-textconv", "-M",
             "--src-prefix=a/", "--dst-prefix=b/")


@dataclass(frozen=True)
class Completed:
    status: int
    out: bytes
    err: str


# The GIT_* variables of the process a review is for, when that is not this one: the warm server
# reviews for a hook whose git set GIT_INDEX_FILE (`git commit -a`) or GIT_DIR. Per thread (a
# context variable), so the server's other requests never see them.
_CLIENT_GIT: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "remora_review_client_git", default=None)


@contextlib.contextmanager
def client_environment(git_vars: Mapping[str, str]) -> Iterator[None]:
    """Run git, inside this block and this thread, with `git_vars` as the GIT_* variables instead
    of this process's own (paths in them absolute: git runs in the repository root)."""
    token = _CLIENT_GIT.set(dict(git_vars))
    try:
        yield
    finally:
        _CLIENT_GIT.reset(token)


def _env() -> dict[str, str]:
    # A hook runs with GIT_DIR / GIT_INDEX_FILE set by git itself; those must reach the child (they
    # are how `git commit -a` and worktrees point at the right index). Only the pager and the
    # terminal prompt are pinned off.
    env = dict(os.environ)
    client = _CLIENT_GIT.get()
    if client is not None:
        env = {k: v for k, v in env.items() if not k.startswith("GIT_")} | dict(client)
    return {**env, "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


def run(root: Path, *args: str, ok: Collection[int] = (0,), stdin: bytes | None = None) -> Completed:
    """Run git in `root`; return its status and output, or raise UserError on a status not in `ok`."""
    try:
        proc = subprocess.run(["git", *CONFIG, *args], cwd=root, input=stdin,
                              stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, env=_env())
    except FileNotFoundError:
        raise UserError("git is not available: no `git` executable on PATH") from None
    except NotADirectoryError:
        raise UserError(f"not a directory: {root}") from None
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode not in ok:
        detail = err.strip().splitlines()[-1] if err.strip() else f"exit status {proc.returncode}"
        command = next((a for a in args if not a.startswith("-")), "")
        raise UserError(f"git {command} failed: {detail}")
    return Completed(proc.returncode, proc.stdout, err)


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def repo_root(cwd: Path) -> Path:
    """The top of the work tree that contains `cwd`."""
    if not cwd.is_dir():
        raise UserError(f"not inside a git repository: {cwd}")
    done = run(cwd, "rev-parse", "--show-toplevel", ok=(0, 128))
    top = decode(done.out).strip()
    if done.status != 0 or not top:
        raise UserError(f"not inside a git repository: {cwd}")
    return Path(top)


def git_path(root: Path, name: str) -> Path:
    """`git rev-parse --git-path NAME`: where git keeps NAME (hooks honour core.hooksPath; worktrees
    share the common directory's hooks)."""
    return root / decode(run(root, "rev-parse", "--git-path", name).out).strip()


def common_path(root: Path, name: str) -> Path:
    """NAME in the repository's common directory (`git rev-parse --git-common-dir`): one place
    for every worktree of the repository, where `git_path` is the worktree's own."""
    return root / decode(run(root, "rev-parse", "--git-common-dir").out).strip() / name


def rev(root: Path, name: str) -> str | None:
    """The commit id `name` names, or None when this clone does not have it."""
    if name.startswith("-"):
        raise UserError(f"not a revision: {name}")
    done = run(root, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", ok=(0, 1, 128))
    return done.out.decode().strip() if done.status == 0 else None


def is_shallow(root: Path) -> bool:
    return run(root, "rev-parse", "--is-shallow-repository").out.strip() == b"true"


def empty_tree(root: Path) -> str:
    return run(root, "hash-object", "-t", "tree", "/dev/null").out.decode().strip()


def merge_base(root: Path, base: str, head: str) -> str | None:
    done = run(root, "merge-base", base, head, ok=(0, 1))
    return done.out.decode().split()[0] if done.status == 0 else None


def diff(root: Path, revs: Sequence[str], cached: bool = False) -> tuple[bytes, bytes]:
    """One `git diff --patch-with-raw -z` (with 3 lines of context): (raw records, patch text).

    The raw records carry status, modes and blob ids; the patch carries the line ranges."""
    mode = ("--cached",) if cached else ()
    out = run(root, "diff", *mode, *DIFF_OPTS, "--patch-with-raw", "-z", "--no-abbrev", "-U3",
              "--inter-hunk-context=0", *revs, "--").out
    # The raw records come first, NUL-separated, then an empty record, then the patch (no NULs).
    raw, sep, patch = out.partition(b"\0\0")
    if not sep:
        return out, b""
    return raw + b"\0", patch


def unstaged_paths(root: Path) -> frozenset[str]:
    """Files whose working-tree text differs from the index."""
    out = run(root, "diff", "--no-ext-diff", "--no-textconv", "--name-only", "-z", "--").out
    return frozenset(decode(p) for p in out.split(b"\0") if p)


@dataclass(frozen=True)
class TreeEntry:
    path: str
    mode: str  # e.g. 100644; 120000 for a symlink; 160000 for a submodule
    object_id: str
    stage: str  # "0" unless the index holds a merge conflict

    @property
    def is_file(self) -> bool:
        return self.mode.startswith("100")


def parse_entries(listing: bytes) -> Iterator[TreeEntry]:
    """The entries of `git ls-files -s -z` or `git ls-tree -z` output."""
    for entry in listing.split(b"\0"):
        meta, sep, name = entry.partition(b"\t")
        parts = meta.decode().split()
        if not sep or len(parts) != 3:
            continue
        path = decode(name)
        # ls-files -s: mode sha stage; ls-tree: mode type sha
        if parts[1] in ("blob", "tree", "commit"):
            yield TreeEntry(path, parts[0], parts[2], "0")
        else:
            yield TreeEntry(path, parts[0], parts[1], parts[2])


def index_checksum(root: Path) -> bytes | None:
    """The checksum git ends its index file with (`ls-files -s` lists nothing else than that
    file holds, so the same checksum is the same listing); None where the file is not found
    here (a linked worktree: `.git` is a file) or git wrote no checksum (`index.skipHash`).
    Reads 32 bytes: in a repository of 5,000 files, listing them took 16 ms a review."""
    env = _env()
    index = env.get("GIT_INDEX_FILE") or os.path.join(env.get("GIT_DIR") or ".git", "index")
    try:
        with open(root / index, "rb") as file:
            file.seek(-32, os.SEEK_END)  # a SHA-1 checksum's 20 bytes, or SHA-256's 32
            tail = file.read()
    except OSError:
        return None
    return None if len(tail) < 32 or not tail[-20:].strip(b"\0") else tail


def tree_entries(root: Path, at: str | None, paths: Iterable[str] | None = None) -> list[TreeEntry]:
    """The entries of the index (`at` None or ":") or of commit `at`: every file, or those of
    `paths` (literal paths; `ls-tree` takes no globs, so callers filter the whole list instead)."""
    literal = ("--literal-pathspecs",)
    named = () if paths is None else tuple(paths)
    if at is None or at == ":":
        out = run(root, *literal, "ls-files", "-s", "-z", "--", *named).out
    else:
        recursive = ("-r",) if paths is None else ()
        out = run(root, *literal, "ls-tree", *recursive, "-z", at, "--", *named).out
    return list(parse_entries(out))


class BlobTooBig(Exception):
    """A blob over the size the reader was asked to return; its size is in `size`."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class Blobs:
    """One `git cat-file --batch` process for every blob a run reads, started on first use.

    Use it as a context manager (or call close()); the process ends with it.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._batch: BlobBatch | None = None

    def __enter__(self) -> Blobs:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def read(self, name: str, max_size: int | None = None) -> bytes | None:
        """The content of blob `name` (an object id, or `REV:path`, `:path` for the index); None
        when there is no such blob. Raises BlobTooBig past `max_size` bytes."""
        if self._batch is None:  # git's environment as of the first read (a hook's client's)
            self._batch = BlobBatch(["git", *CONFIG], str(self._root), _env())
        try:
            found = self._batch.read(name)
        except FileNotFoundError:
            raise UserError("git is not available: no `git` executable on PATH") from None
        except EOFError as e:
            raise UserError(str(e)) from None
        if found is None or found[0] != b"blob":
            return None
        if max_size is not None and len(found[1]) > max_size:
            raise BlobTooBig(len(found[1]))
        return found[1]

    def close(self) -> None:
        if self._batch is not None:
            batch, self._batch = self._batch, None
            batch.close()
