"""The hook's side of a review run in the warm server: start the server if none runs (or replace
one that runs other code), send it the change set and settings, rebuild its Review.

Standard library only, like the hook's path up to here: the server imports libcst, pydantic,
numpy and the model once, and keeps packs and project indexes between commits
(server_review.py). Whenever the server cannot answer, the caller reviews in its own process.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remora_review import server_socket
from remora_review.check_client import REVIEW_TIMEOUT_S, client_environ
from remora_review.errors import UserError
from remora_review.review_wire import decode_review, encode_changes, encode_settings

if TYPE_CHECKING:
    from remora_review.changes import ChangeSet
    from remora_review.config_file import PreSettings
    from remora_review.review import Backends, Review

DEFAULT_IDLE_TIMEOUT = 900.0  # config.Embedding's default, for settings that leave it out


def _server_settings(settings: PreSettings) -> tuple[bool, float]:
    """[tool.remora-review.embedding] server and idle-timeout (defaults without the table)."""
    from remora_review.config_file import CheckedSettings

    if isinstance(settings, CheckedSettings):
        embedding = settings.dump["embedding"]
        return bool(embedding["server"]), float(embedding["idle_timeout"])
    found = getattr(settings, "embedding", None)  # Settings; CoreSettings has the defaults
    if found is None:
        return True, DEFAULT_IDLE_TIMEOUT
    return bool(found.server), float(found.idle_timeout)


def review_in_server(root: Path, changes: ChangeSet, settings: PreSettings, fix: bool,
                     backends: Backends, note: Callable[[str], None]) -> Review | None:
    """The Review the warm server gives for this change, or None: none ran yet (one is started
    for the next commits), none could be started (the caller's own run then says why, as it
    did before reviews moved there), it died, or it failed (noted)."""
    enabled, idle_timeout = _server_settings(settings)
    if not enabled:
        return None
    identity = server_socket.code_identity(sys.executable)
    try:
        sock = server_socket.socket_path(backends.environ)
        if server_socket.server_identity(sock) != identity:
            # Cold: the server starts, importing the embedding library at once, while this
            # process reviews (two processes, two cores; in one process the imports would take
            # turns). The next commit is reviewed there.
            server_socket.start_server(idle_timeout, backends.environ, sys.executable,
                                       identity=identity, preload=True)
            return None
    except (UserError, server_socket.ServerUnavailable, server_socket.ServerError,
            TimeoutError, OSError):
        return None
    payload: dict[str, Any] = {
        "op": "review",
        "identity": identity,
        "changes": encode_changes(changes),
        "settings": encode_settings(settings),
        "fix": fix,
        "strict": backends.strict,
        "environ": client_environ(backends.environ, Path.cwd()),
    }
    try:
        reply = server_socket.request(sock, payload, REVIEW_TIMEOUT_S)
    except server_socket.ServerUnavailable:
        return None
    except server_socket.ServerError as e:
        note(f"the review server failed ({e}); reviewed in this process")
        return None
    return decode_review(reply["review"], changes)
