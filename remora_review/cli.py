"""Command line: `remora-review check | review | pack | server | install-hooks`; UserError becomes exit 2 here."""

from __future__ import annotations

import sys
from collections.abc import Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads any such name)
if TYPE_CHECKING:
    import argparse

# Sub-commands live in their own modules, imported only when chosen: `check` on a commit that
# activates no pack must stay clear of libcst, numpy and torch until it knows it needs them.
SUBCOMMANDS = {
    "check": "remora_review.commands.check",
    "pack": "remora_review.packs.commands",
    "server": "remora_review.server_commands",
    "install-hooks": "remora_review.install_hooks",
    "review": "remora_review.github.action",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that sub-command's module is imported and registered (the
    hook runs `check` on every commit and needs none of the others)."""
    import argparse
    import importlib
    from pathlib import Path

    from remora_review import __version__

    parser = argparse.ArgumentParser(prog="remora-review", description=__doc__)
    parser.add_argument("--version", action="version", version=f"remora-review {__version__}")
    parser.add_argument("--verbose", "-v", action="store_true", help="show tracebacks and notes")
    parser.add_argument("--config", type=Path, help="a pyproject.toml or remora-review.toml")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in SUBCOMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module).register(sub)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The sub-command `argv` names, when it names a known one after the global options."""
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
        elif arg == "--config":
            skip_next = True
        elif arg.startswith("-"):
            if arg in ("-h", "--help", "--version"):
                return None  # the whole parser answers these
        else:
            return arg if arg in SUBCOMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["check"]:  # the hook, on every commit: most activate no pack
        import os

        from remora_review.no_pack import answer

        if (code := answer(argv[1:], os.environ, os.getcwd())) is not None:
            return code
    from remora_review.errors import run_command

    parser = build_parser(_command(argv))
    args = parser.parse_args(argv)
    return run_command("remora-review", args.handler, args, args.verbose)


if __name__ == "__main__":
    raise SystemExit(main())
