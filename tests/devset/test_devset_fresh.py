"""The fresh-pack mode's dev set: its pinned file, and gold over libraries other than the four."""

from __future__ import annotations

import textwrap

from bench.devset.dataset import build_project
from bench.devset.fetch import Project, SourceFile
from bench.devset.fresh import load_fresh
from bench.devset.name_peer import NameTable, name_peer
from bench.devset.resolve import LIBRARIES, Resolver

SOURCE = textwrap.dedent(
    '''
    import requests
    from sqlalchemy.orm import Session


    def fetch(session: requests.Session, url: str, db: Session) -> requests.Response:
        response = session.get(url)
        db.add(response)
        return response


    def body(response: requests.Response) -> bytes:
        return response.content
    '''
)


def test_the_pinned_file_names_two_libraries_and_their_projects() -> None:
    fresh = load_fresh()
    assert len(fresh.libraries) >= 2 and len(fresh.projects) >= 3
    assert not set(fresh.names) & set(LIBRARIES)  # no first-party pack covers them
    assert all(lib.version and lib.why for lib in fresh.libraries)
    assert all(p.version and p.why for p in fresh.projects)


def test_gold_is_the_fresh_libraries_classes_only() -> None:
    project = Project("demo", "1.0", "")
    built = build_project(project, [SourceFile("demo/api.py", SOURCE)], Resolver(("requests",)))
    gold = {(g.function, g.parameter, g.gold) for f in built.kept for g in f.gold}
    assert gold == {("fetch", "session", "requests.sessions.Session"),
                    ("body", "response", "requests.models.Response")}
    (stripped,) = built.kept
    assert stripped.imports == ("requests",)
    assert "db: Session" in stripped.source  # sqlalchemy is not a library of this set


def test_the_name_peer_answers_for_files_that_import_the_fresh_libraries() -> None:
    table = NameTable({"response": {"requests.models.Response": 3}})
    peer = name_peer(table, {"requests": ("requests",)})
    (found,) = peer("import requests\n\ndef body(response):\n    return response.content\n",
                    "a.py", "demo")
    assert found.candidates == (("requests.models.Response", 1.0),)
    assert peer("def body(response):\n    return response.content\n", "a.py", "demo") == []
