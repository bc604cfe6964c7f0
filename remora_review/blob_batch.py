"""One `git cat-file --batch` process for the objects a run reads (by id, `REV:path` or `:path`),
started on first use.

Standard library only, and nothing built at import: the hook's no-pack path reads its blobs
through it too (no_pack.py), and the full path's `git.Blobs` wraps it with its errors.
"""

from __future__ import annotations

import subprocess

TYPE_CHECKING = False  # typing's own import costs the no-pack path; see no_pack.py
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class BlobBatch:
    """Use it as a context manager (or call close()); the process ends with it."""

    def __init__(self, git: Sequence[str], cwd: str, env: Mapping[str, str]) -> None:
        self._command = [*git, "cat-file", "--batch"]
        self._cwd = cwd
        self._env = dict(env)
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BlobBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, name: str) -> tuple[bytes, bytes] | None:
        """(kind, content) of the object `name` (kind b"blob", b"tree", ...); None when git has
        none by that name. Raises FileNotFoundError when there is no git to start, EOFError when
        git stops answering."""
        if "\n" in name:
            return None
        if self._proc is None:
            self._proc = subprocess.Popen(
                self._command, cwd=self._cwd, env=self._env, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
        stdin.flush()
        header = stdout.readline()
        if not header:
            raise EOFError("git cat-file --batch ended unexpectedly")
        parts = header.split()
        if len(parts) != 3:  # "<name> missing" or "<name> ambiguous"
            return None
        return parts[1], stdout.read(int(parts[2]) + 1)[:-1]  # the content, then a newline

    def close(self) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.stdout.close()
        proc.wait()
