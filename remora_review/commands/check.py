"""`remora-review check`: a ChangeSet and Settings from the command line, review(), then output."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from remora_review.config_file import PreSettings, read_config, settings_for
from remora_review.errors import UserError

if TYPE_CHECKING:
    from remora_review.changes import ChangeSet
    from remora_review.review import Backends, Checked, Delegate, Review

FORMATS = ("text", "json", "sarif", "github")
FILTER_MODES = ("added", "diff_context", "file")


def _codes(value: str) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in value.split(",") if c.strip())


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="review changed Python files (pre-commit mode by default)")
    p.add_argument("files", nargs="*", help="files pre-commit passes; default: every staged file")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--diff", metavar="BASE[..HEAD]", help="review a range instead of the index")
    scope.add_argument("--all", action="store_true", help="review every tracked file, every line")
    p.add_argument("--fix", action="store_true", help="apply fixes to the files in place")
    p.add_argument("--diff-output", action="store_true",
                   help="print fixes as a unified diff; write nothing")
    p.add_argument("--output-format", choices=FORMATS, default="text")
    p.add_argument("--select", type=_codes, help="only these codes (prefixes), comma-separated")
    p.add_argument("--ignore", type=_codes, help="skip these codes (prefixes), comma-separated")
    p.add_argument("--filter-mode", choices=FILTER_MODES,
                   help="report on added lines, whole diff hunks, or whole changed files")
    p.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    p.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(handler=run)


def _settings(args: argparse.Namespace, root: Path, environ: Mapping[str, str]) -> PreSettings:
    """Validated Settings when the repository configures anything; else the defaults without
    importing pydantic (a commit that activates no pack never needs it)."""
    overrides: dict[str, object] = {}
    if args.select is not None:
        overrides["select"] = args.select
    if args.ignore is not None:
        overrides["ignore"] = args.ignore
    if args.filter_mode is not None:
        overrides["filter_mode"] = args.filter_mode
    from remora_review.user_dirs import default_cache_root

    return settings_for(read_config(getattr(args, "config", None), root), overrides,
                        default_cache_root(environ).parent / "settings")


def _changeset(args: argparse.Namespace, root: Path, cwd: Path,
               environ: Mapping[str, str]) -> ChangeSet:
    from remora_review import changes

    paths = [_relative(root, cwd, f) for f in args.files] if args.files else None
    if args.all:
        return changes.all_files(root)
    if args.diff:
        return changes.range_changes(root, args.diff)
    # pre-commit's pre-push stage passes the pushed range in the environment.
    from_ref, to_ref = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if from_ref and to_ref:
        ranged = changes.range_changes(root, f"{from_ref}..{to_ref}")
        return changes.restrict(ranged, paths) if paths else ranged
    return changes.staged_changes(root, paths)


def _relative(root: Path, cwd: Path, name: str) -> str:
    path = Path(name)
    absolute = path if path.is_absolute() else (cwd / path)
    try:
        return absolute.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise UserError(f"{name} is outside the repository {root}") from None


@dataclass(frozen=True)
class Printed:
    """What `check` prints, in order, each text to "out" or "err", and its exit status: the same
    whether this process reviewed or the warm server ran the whole command
    (server_review.check_answer)."""

    chunks: tuple[tuple[str, str], ...]
    code: int


def run(args: argparse.Namespace) -> int:
    from remora_review.check_client import write_printed
    from remora_review.review import Backends

    # REMORA_REVIEW_STRICT=1 (the tests set it): a check that raises is an internal error.
    strict = os.environ.get("REMORA_REVIEW_STRICT") == "1"
    printed = check(args, Path.cwd(), os.environ,
                    Backends(os.environ, strict=strict, delegate=_delegate(os.environ)))
    write_printed(printed.chunks)
    return printed.code


def check(args: argparse.Namespace, cwd: Path, environ: Mapping[str, str],
          backends: Backends) -> Printed:
    """The `check` command run from `cwd` under `environ`; with --fix, the fixed files are
    written."""
    from remora_review.git import repo_root
    from remora_review.output import FORMATTERS, Report
    from remora_review.review import review

    root = repo_root(cwd)
    settings = _settings(args, root, environ)
    result = review(root, _changeset(args, root, cwd, environ), settings, backends,
                    fix=args.fix or args.diff_output)
    # Notes go to stderr, so stdout stays parseable.
    chunks = [("err", f"remora-review: {line}\n") for line in result.notes]
    rewritten, diff = _write_fixes(root, result.fixed, args.diff_output)
    if args.diff_output:  # like `ruff --diff`: the diff is the whole output
        return Printed((*chunks, ("out", diff)), 1 if rewritten else 0)

    report = Report(
        findings=tuple(r.finding for r in result.findings),
        fingerprints=tuple(r.fingerprint for r in result.findings),
        notes=result.notes,
        fixed=sum(f.fixes_applied for f in result.fixed),
        files_checked=len(result.checked),
    )
    chunks.append(("out", FORMATTERS[args.output_format](report)))
    if getattr(args, "verbose", False):
        used = ", ".join(result.packs) or "none"
        chunks.append(("err", f"remora-review: {len(result.checked)} files, packs: {used}\n"))
    return Printed(tuple(chunks), 1 if report.findings or rewritten else 0)


def _delegate(environ: Mapping[str, str]) -> Delegate | None:
    """A review that needs packs runs in the warm server (imports, packs, models and the project
    index kept between commits), unless REMORA_REVIEW_IN_PROCESS=1 or the configuration turns
    the server off; its output is the same either way."""
    return None if environ.get("REMORA_REVIEW_IN_PROCESS") == "1" else _in_server


def _in_server(root: Path, changes: ChangeSet, settings: PreSettings, fix: bool,
               backends: Backends, note: Callable[[str], None]) -> Review | None:
    from remora_review.review_client import review_in_server  # not on the no-pack path

    return review_in_server(root, changes, settings, fix, backends, note)


def _write_fixes(root: Path, fixed: Sequence[Checked], diff_only: bool) -> tuple[int, str]:
    """How many files the fixes rewrite, and, with `diff_only`, their unified diff instead of
    writing them."""
    if not fixed:  # the usual hook run: no need to import the writer (tempfile, difflib)
        return 0, ""
    from remora_review.fixes import unified_diff, write_atomic

    diffs = []
    for checked in fixed:
        assert checked.fixed_source is not None
        if diff_only:
            diffs.append(unified_diff(checked.path, checked.source.text, checked.fixed_source))
        else:
            write_atomic(root / checked.path, checked.fixed_source, checked.source.newline,
                         bom=checked.source.bom)
    return len(fixed), "".join(diffs)
