"""The hook's side of a whole `remora-review check` run in the warm server: the no-pack path
(no_pack.py) hands it the command once a file activates a pack. Standard library only, and only
what that needs: a warm commit's hook spends none of its time on what the server does anyway
(settings, discovery, reading the change, and the imports for them)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from remora_review import server_socket
from remora_review.errors import UserError

REVIEW_TIMEOUT_S = 600.0  # a first review loads the model; a big `check --all` takes a while
# git's variables that hold paths, possibly relative to the hook's directory.
GIT_PATH_VARIABLES = ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE", "GIT_OBJECT_DIRECTORY",
                      "GIT_COMMON_DIR")


def client_environ(environ: Mapping[str, str], cwd: Path) -> dict[str, str]:
    """The environment the review runs under, its git paths made absolute (the server's git
    runs in the repository root, not in the hook's directory)."""
    out = dict(environ)
    for name in GIT_PATH_VARIABLES:
        value = out.get(name)
        if value and not os.path.isabs(value):
            out[name] = str(cwd / value)
    return out


def check_in_server(argv: Sequence[str], environ: Mapping[str, str], cwd: str) -> int | None:
    """`remora-review check ARGV` run whole in the warm server, its output printed here, its exit
    status returned; None where the hook's own full path must run instead: no current server
    (that path starts one), the environment keeps reviews in process, or the server could not
    answer (that path says why, or reviews in its own process)."""
    if environ.get("REMORA_REVIEW_IN_PROCESS") == "1":
        return None
    try:
        reply = server_socket.request(server_socket.socket_path(environ), {
            "op": "check",
            "identity": server_socket.code_identity(sys.executable),
            "argv": list(argv),
            "cwd": cwd,
            "environ": client_environ(environ, Path(cwd)),
        }, REVIEW_TIMEOUT_S)
        chunks, code = reply["printed"], reply["code"]
    except (UserError, server_socket.ServerUnavailable, server_socket.ServerError,
            TimeoutError, OSError, KeyError, ValueError):
        return None  # the full path says what is wrong, or reviews in this process
    write_printed(chunks)
    return int(code)


def write_printed(chunks: Iterable[Sequence[str]]) -> None:
    """Write what `check` prints (commands/check.Printed's chunks), each to its stream."""
    for stream, text in chunks:
        (sys.stderr if stream == "err" else sys.stdout).write(text)
