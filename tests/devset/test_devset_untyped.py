"""The project-untyped mode: the stripped tree, and blind names made unique per file."""

from __future__ import annotations

from bench.devset.extract import extract
from bench.devset.resolve import Resolver
from bench.devset.untyped import stripped_tree, unique_blind_names

SOURCE = ("from sqlalchemy.orm import Session\n\n\n"
          "def save(session: Session, row):\n    session.add(row)\n")


def test_the_tree_is_the_project_with_its_stripped_files() -> None:
    found = extract(SOURCE, "app/db.py", Resolver())
    tree = stripped_tree([found.kept], {"app/db.py": SOURCE, "app/other.py": "x = 1\n"})
    assert tree["app/other.py"] == "x = 1\n"
    assert "session: Session" not in tree["app/db.py"] and "def save(session, row)" in tree["app/db.py"]


def test_blind_names_get_the_files_number_and_the_gold_follows() -> None:
    blind = extract(SOURCE, "app/db.py", Resolver()).blind
    renamed = unique_blind_names(blind, SOURCE, 7)
    (gold,) = renamed.gold
    assert gold.parameter == "p0_7" and gold.line == blind.gold[0].line
    assert "def save(p0_7, row):\n    p0_7.add(row)" in renamed.source
    # A published file that has such names already is left as it is.
    assert unique_blind_names(blind, SOURCE + "p1 = 2\n", 7) == blind


def test_blind_renames_reach_the_keywords_of_the_calls_in_every_file() -> None:
    from bench.devset.keywords import follow_renames

    source = SOURCE + "\n\ndef run(session: Session):\n    save(session=session, row=1)\n"
    blind = unique_blind_names(extract(source, "app/db.py", Resolver()).blind, source, 3)
    caller = ("from app.db import save\n\n\ndef go(s):\n    save(session=s, row=2)\n"
              "    other(session=s)\n")
    before = stripped_tree([blind], {"app/db.py": source, "app/go.py": caller})
    tree = follow_renames(before, [blind])
    assert "save(p0_3=p0_3, row=1)" in tree["app/db.py"]
    assert "save(p0_3=s, row=2)" in tree["app/go.py"]
    assert "other(session=s)" in tree["app/go.py"]  # another function's keyword stays
    assert {p: len(t.splitlines()) for p, t in tree.items()} == {
        p: len(t.splitlines()) for p, t in before.items()}
