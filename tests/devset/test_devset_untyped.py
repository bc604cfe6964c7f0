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
