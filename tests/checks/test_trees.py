"""A run's files are parsed by libcst once, however many of its readers analyse them: propagation
across the run's files and each file's own checks (checks/trees.py)."""

from __future__ import annotations

import ast
import gc
import weakref
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import libcst as cst
import pytest

from remora_review.checks import api, typehints
from remora_review.checks.registry import CheckEnv, RunFile
from remora_review.checks.trees import SharedTrees
from remora_review.config import Settings
from remora_review.engine import FileJob, Runtime, check_source
from remora_review.packs.loader import load_pack
from remora_review.project.index import ProjectIndex
from remora_review.project.scan import index_from_sources

PACKS = Path(__file__).resolve().parents[2] / "packs" / "remora_packs"
FILES = [
    ("app/db.py", "import sqlalchemy\nfrom app.audit import audit\n\n"
                  "def main(session, row):\n    session.add(row)\n    session.flush()\n"
                  "    session.query(type(row)).all()\n    audit(session)\n"),
    # Three blank lines: the checks read it folded (checks/folded.py), and so does propagation.
    ("app/audit.py", "import sqlalchemy\nfrom app.sink import write\n\n\n\n"
                     "def audit(log):\n    write(log)\n"),
    ("app/sink.py", "import sqlalchemy\n\ndef write(target, n=1):\n    print(target.rows)\n"),
    ("app/typed.py", "import sqlalchemy\n\ndef keep(session: sqlalchemy.orm.Session) -> None:\n"
                     "    session.add(1)\n"),
]


@pytest.fixture(scope="module")
def packs():
    return {"sqlalchemy": load_pack(PACKS / "sqlalchemy.pack")}


# Annotated modules read whole after FILES: more files than the last few trees kept.
ANNOTATED = [(f"app/typed{i}.py", f"import sqlalchemy\n\ndef keep{i}(n: int) -> int:\n"
                                  f"    return n + {i}\n") for i in range(6)]


def _check_all(packs, trees: SharedTrees | None, project: Callable[[], ProjectIndex] = lambda:
               index_from_sources(FILES), files: list[tuple[str, str]] = FILES,
               ) -> list[tuple[str, int, str, str]]:
    """`check --all` over `files`: every file whole, the run's trees shared unless `trees` is
    None."""
    settings = Settings.model_validate({"typehints": {"report-below": True}})
    env = CheckEnv(Path("."), settings, packs, None, project,
                   [RunFile(p, t, ("sqlalchemy",)) for p, t in files],
                   trees if trees is not None else SharedTrees())
    checks = (typehints.build(env), api.build(env))
    found = []
    for path, text in files:
        runtime = Runtime(settings, packs, checks, None, strict=True,
                          trees=trees if trees is not None else SharedTrees())
        outcome = check_source(FileJob(path, text, None, ("sqlalchemy",)), runtime)
        assert outcome.notes == ()
        found += [(f.path, f.line, f.code, f.message) for f in outcome.findings]
    return found


def test_each_file_is_parsed_once_by_propagation_and_its_checks(packs, monkeypatch):
    parsed: Counter[str] = Counter()
    parse = cst.parse_module

    def counted(source: str, *args: object, **kwargs: object) -> cst.Module:
        parsed[source] += 1
        return parse(source, *args, **kwargs)

    monkeypatch.setattr(cst, "parse_module", counted)
    apart = _check_all(packs, None)
    # Not shared: propagation parses the three files it takes, then each file's checks again.
    assert len(parsed) == 4 and sorted(parsed.values()) == [1, 2, 2, 2]
    parsed.clear()
    shared = _check_all(packs, SharedTrees())
    assert len(parsed) == 4 and set(parsed.values()) == {1}
    assert shared == apart
    # The same findings, and findings there are: `session` is sure, and travels to `log`.
    assert {(p, c) for p, _, c, m in shared if "`session`" in m or "`log`" in m} == {
        ("app/db.py", "RR101"), ("app/audit.py", "RR101")}, shared


def test_only_shared_texts_are_kept():
    trees = SharedTrees()
    trees.share(["x = 1\n"])
    assert trees.parse("x = 1\n") is trees.parse("x = 1\n")
    assert trees.parse("y = 2\n") is not trees.parse("y = 2\n")
    with pytest.raises(cst.ParserSyntaxError):
        trees.parse("def (:\n")


def test_each_files_ast_is_parsed_once_for_all_its_readers(packs, monkeypatch):
    # The syntax check, the folding, the API check's import filter and the type-hint check's
    # unannotated test all read the run's one `ast` of a file (TextFacts). The files propagation
    # takes are read again far apart, by DefPositions, by their facts with their sure parameters
    # annotated and by the fixes' imports: their trees are kept for the run.
    parsed: Counter[str] = Counter()
    parse = ast.parse

    def counted(source: str | bytes, *args: object, **kwargs: object) -> ast.Module:
        parsed[str(source)] += 1
        return parse(source, *args, **kwargs)  # type: ignore[arg-type]

    files = FILES + ANNOTATED
    index = index_from_sources(files)  # the project's own facts: the project cache's, in a run
    monkeypatch.setattr(ast, "parse", counted)
    found = _check_all(packs, SharedTrees(), lambda: index, files)
    assert {c for _, _, c, _ in found} == {"RR101"}  # with their fixes, which read the imports
    assert {path: parsed[text] for path, text in files} == {path: 1 for path, _ in files}


def test_what_the_readers_take_of_a_text_that_does_not_parse():
    facts = SharedTrees().facts("def (:\n")
    assert isinstance(facts.error, SyntaxError)
    assert facts.unannotated and facts.analysed.text == "def (:\n"
    assert facts.imports == ((), True)  # it may import anything: the API check looks


def test_the_runs_trees_need_no_cycle_collection_to_go():
    trees = SharedTrees()
    trees.read_whole("def f(x):\n    return x\n")
    assert trees.facts("def (:\n").error is not None
    gone = weakref.ref(trees)
    gc.disable()
    try:
        del trees
        assert gone() is None
    finally:
        gc.enable()
