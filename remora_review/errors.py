"""The one exception type for mistakes a user can act on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class UserError(Exception):
    """A problem with the user's input, config, repository or packs.

    The CLI prints it as one line and exits 2; anything else is a bug and keeps its traceback.
    """


def run_command(prog: str, handler: Callable[[Any], int], args: Any, verbose: bool) -> int:
    """Run a CLI handler: UserError is one line and exit 2; a bug is one line unless verbose."""
    import sys

    try:
        return int(handler(args))
    except UserError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug: one line by default, the traceback with --verbose
        if verbose:
            raise
        print(f"{prog}: internal error: {type(e).__name__}: {e} (run with --verbose)",
              file=sys.stderr)
        return 2
