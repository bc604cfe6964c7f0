"""The one exception type for mistakes a user can act on."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, config, repository or packs.

    The CLI prints it as one line and exits 2; anything else is a bug and keeps its traceback.
    """
