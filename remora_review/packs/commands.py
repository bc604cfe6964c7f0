"""`remora-review pack list | info | verify | install`."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remora_review.errors import UserError

# Kept light at import: cli.py imports every sub-command's module to build its parser.
if TYPE_CHECKING:
    from rich.console import Console

    from remora_review.config import Settings
    from remora_review.packs.loader import LoadedPack


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pack = subparsers.add_parser(
        "pack", help="list, inspect, verify and install language packs", description=__doc__
    )
    sub = pack.add_subparsers(dest="pack_command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="the packs found for this repository, and where")
    info = sub.add_parser("info", help="what one pack holds")
    info.add_argument("pack", metavar="NAME_OR_PATH", help="a pack name from `pack list`, or a path")
    verify = sub.add_parser("verify", help="check packs' files against their manifests")
    verify.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    install = sub.add_parser("install", help="verify a pack, then install it for this user")
    install.add_argument("path", type=Path, metavar="PATH", help="a .pack file or a pack directory")
    for parser in (pack, *sub.choices.values()):
        parser.set_defaults(handler=run)


def run(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> int:
    commands = {"list": _list, "info": _info, "verify": _verify, "install": _install}
    return commands[args.pack_command](args, environ)


def _repo_root(cwd: Path) -> Path:
    from remora_review import git

    try:
        return git.repo_root(cwd)
    except UserError:  # no git, or not a repository: the packs of the current directory
        return cwd


def _settings(args: argparse.Namespace) -> tuple[Settings, Path]:
    from remora_review.config import load_settings

    root = _repo_root(Path.cwd())
    return load_settings(args.config, root), root


def _console() -> Console:
    from rich.console import Console

    # A pipe or a CI log gets wide lines rather than cells cut at 80 columns.
    return Console(width=None if sys.stdout.isatty() else 200, highlight=False)


def _list(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from rich.table import Table

    from remora_review.packs.discovery import scan_packs
    from remora_review.packs.loader import PackError, load_pack

    settings, root = _settings(args)
    found = scan_packs(settings, root, environ)
    console = _console()
    if not (found.packs or found.shadowed or found.problems):
        console.print("no packs found; looked in: " + "; ".join(found.searched))
        return 0
    table = Table(title="language packs")
    for column in ("name", "version", "kind", "library", "activate on", "documents", "classes",
                   "origin", "status", "path"):
        table.add_column(column, overflow="fold")
    for ref in found.packs:
        row = [ref.name, ref.version, ref.kind, _library(ref.library, ref.library_version),
               ", ".join(ref.activate_on)]
        try:
            pack = load_pack(ref.path, origin=ref.origin, environ=environ)
            row += [str(len(pack.vectors)), str(len(pack.api_table.classes)), ref.origin, "ok"]
        except PackError as e:
            row += ["-", "-", ref.origin, f"invalid: {e}"]
        table.add_row(*row, str(ref.path))
    for s in found.shadowed:
        table.add_row(s.ref.name, s.ref.version, s.ref.kind,
                      _library(s.ref.library, s.ref.library_version), ", ".join(s.ref.activate_on),
                      "-", "-", s.ref.origin, f"shadowed by {s.by.origin}", str(s.ref.path))
    for p in found.problems:
        message = p.message.removeprefix(f"{p.origin}: ")
        table.add_row("?", "", "", "", "", "-", "-", p.origin, f"invalid: {message}",
                      str(p.path or ""))
    console.print(table)
    console.print("looked in: " + "; ".join(found.searched))
    return 0


def _library(name: str, version: str) -> str:
    return f"{name} {version}".strip()


def _info(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from remora_review.packs.discovery import is_pack, scan_packs
    from remora_review.packs.loader import load_pack

    candidate = Path(args.pack)
    looks_like_path = "/" in args.pack or os.sep in args.pack or args.pack.endswith(".pack")
    if is_pack(candidate) or (looks_like_path and candidate.exists()):
        pack = load_pack(candidate, environ=environ)
    else:
        settings, root = _settings(args)
        found = scan_packs(settings, root, environ)
        refs = {ref.name: ref for ref in found.packs}
        if args.pack not in refs:
            known = ", ".join(sorted(refs)) or "none"
            raise UserError(
                f"no pack named {args.pack!r} and no pack at that path (packs found: {known})"
            )
        ref = refs[args.pack]
        pack = load_pack(ref.path, origin=ref.origin, environ=environ)
    _print_info(pack)
    return 0


def _print_info(pack: LoadedPack) -> None:
    from rich.table import Table

    m = pack.manifest
    kinds = Counter(d.kind for d in pack.documents)
    table = Table(title=f"pack {m.name}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows: list[tuple[str, Any]] = [
        ("name", m.name), ("version", m.version), ("kind", m.kind), ("description", m.description),
        ("library", _library(m.library.name, m.library.version)),
        ("built from", m.library.built_from), ("activate on", ", ".join(m.library.activate_on)),
        ("embedding model", f"{m.embedding.model} ({m.embedding.dimension} dims)"),
        ("embedding checkpoint", pack.embedding_model_path if pack.embedding_model_path !=
         m.embedding.model else ""),
        ("LoRA adapter", f"{m.lora.path} (base {m.lora.base_model}, r={m.lora.rank})" if m.lora
         else ""),
        ("documents", f"{len(pack.documents)} ("
         + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")"),
        ("classes", len(pack.api_table.classes)), ("functions", len(pack.api_table.functions)),
        ("policies", ", ".join(p.code for p in m.policies)), ("templates", ", ".join(m.templates)),
        ("glossary terms", len(m.glossary)),
        ("files", f"{len(m.files)} ({sum(pack.file(f).stat().st_size for f in m.files)} bytes)"),
        ("origin", pack.origin), ("root", str(pack.root)),
    ]
    for key, value in rows:
        table.add_row(key, str(value))
    _console().print(table)


def _verify(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from remora_review.packs.loader import PackError

    if missing := [str(p) for p in args.paths if not p.exists()]:
        raise UserError(f"no such file or directory: {', '.join(missing)}")
    bad = 0
    for path in args.paths:
        try:
            pack = _verified(path, environ)
        except PackError as e:
            bad += 1
            print(f"FAIL {path}: {e}")
            continue
        print(f"ok   {path}: {pack.name} {pack.version}, {len(pack.manifest.files)} files, "
              f"{len(pack.documents)} documents, {len(pack.api_table.classes)} classes")
    if len(args.paths) > 1:
        print(f"{len(args.paths) - bad} ok, {bad} failed")
    return 1 if bad else 0


def _verified(path: Path, environ: Mapping[str, str]) -> LoadedPack:
    """Load with full verification, then read the API table and documents so they must parse."""
    from remora_review.packs.loader import load_pack

    pack = load_pack(path, environ=environ)
    _ = pack.api_table, pack.documents
    return pack


def _install(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from remora_review.packs.archive import write_pack
    from remora_review.packs.discovery import read_pack_manifest
    from remora_review.packs.loader import PackError
    from remora_review.user_dirs import default_install_dir

    path: Path = args.path
    if not path.exists():
        raise UserError(f"no such file or directory: {path}")
    pack = _verified(path, environ)  # a bad pack raises here, before the install dir is touched
    install_dir = default_install_dir(environ)
    dest = install_dir / f"{pack.name}.pack"
    if (install_dir / pack.name).exists():
        raise UserError(f"{install_dir / pack.name} is in the way of installing {pack.name}; "
                        "remove it first")
    previous = None
    if dest.is_file():
        try:
            previous = read_pack_manifest(dest).version
        except PackError:
            previous = "a broken copy"
    install_dir.mkdir(parents=True, exist_ok=True)
    # Zipped again from the verified files rather than copied: what lands is what was checked,
    # and a pack directory installs as a single .pack like any other.
    write_pack(pack.root, dest)
    if previous is None:
        print(f"installed {pack.name} {pack.version} to {dest}")
    else:
        print(f"replaced {pack.name} {previous} with {pack.version} at {dest}")
    return 0
