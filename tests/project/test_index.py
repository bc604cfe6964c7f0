"""The project index: re-exports followed, methods found through bases, typed arguments by callee."""

from __future__ import annotations

from remora_review.project.scan import index_from_sources

FILES = {
    "app/__init__.py": "from .models import Base as Base\n",
    "app/models.py": (
        "from sqlalchemy.orm import Session\n"
        "class Base:\n"
        "    def __init__(self, session: Session): ...\n"
        "    def save(self, session: Session, flush: bool): ...\n"
        "class Child(Base):\n"
        "    def other(self): ...\n"
    ),
    "app/views.py": (
        "from sqlalchemy.orm import Session\n"
        "from app import Base\n"
        "from app.models import Child\n"
        "def view(session: Session):\n"
        "    Child(session)\n"
        "    Base(session).save(session, True)\n"
    ),
    "src/other.py": "def broken(:\n",
}


def index():
    return index_from_sources(sorted(FILES.items()))


def test_re_exports_resolve_to_the_defining_module():
    assert index().resolve("app.Base") == "app.models.Base"
    assert index().resolve("app.Base.save") == "app.models.Base.save"


def test_methods_and_constructors_are_found_through_bases():
    idx = index()
    save = idx.function("app.models.Child.save")
    assert save is not None and save.slots()["0"] == "sqlalchemy.orm.Session"
    init = idx.function("app.models.Child")  # a class stands for its __init__
    assert init is not None and init.slots() == {"0": "sqlalchemy.orm.Session",
                                                 "session": "sqlalchemy.orm.Session"}
    found, outside = idx.method("app.models.Child", "commit")
    assert found is None and outside == ()


def test_outside_bases_are_returned_for_library_lookups():
    idx = index_from_sources([("m.py", "import sqlalchemy\nclass T(sqlalchemy.types.TypeDecorator):\n"
                                        "    pass\n")])
    assert idx.method("m.T", "process_bind_param") == (None, ("sqlalchemy.types.TypeDecorator",))


def test_arguments_are_indexed_by_resolved_callee():
    assert index().arguments("app.models.Child") == {"0": ("sqlalchemy.orm.Session",)}
    assert "module" not in index().modules  # the unparsable file is left out, not an error


def test_with_module_replaces_one_module():
    idx = index()
    fresh = index_from_sources([("app/views.py", "def view(session): ...\n")])
    replaced = idx.with_module(fresh.modules["app.views"])
    assert replaced.arguments("app.models.Child") == {}
    assert replaced.function("app.models.Base.save") is not None


def test_an_unwritable_cache_is_a_note_and_the_index_still_loads(tmp_path):
    import subprocess

    from remora_review.project.scan import load_project_index

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "m.py").write_text("def f(x: int): ...\n")
    subprocess.run(["git", "add", "m.py"], cwd=tmp_path, check=True)
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache directory should be")
    notes: list[str] = []
    index = load_project_index(tmp_path, ":", blocked, notes.append)
    assert index.function("m.f") is not None
    assert len(notes) == 1 and notes[0].startswith("project cache not written")
    assert blocked.read_text() == "a file where the cache directory should be"


def test_classes_have_their_methods_and_data_attributes_through_project_bases():
    from remora_review.project.scan import index_from_sources

    base = ("import sqlalchemy\n"
            "class Base:\n    kind: str\n    flag = True\n"
            "    def run(self):\n        self.state = 1\n"
            "def helper():\n    class Local:\n        pass\n")
    child = ("from sqlalchemy.types import TypeDecorator\nfrom app.base import Base\n"
             "class Child(Base, TypeDecorator):\n    def extra(self, other):\n        other.x = 1\n")
    classes = index_from_sources([("app/base.py", base), ("app/child.py", child)]).classes()
    assert set(classes) == {"app.base.Base", "app.child.Child"}
    members, outside = classes["app.child.Child"]
    assert members == {"kind", "flag", "run", "state", "extra"}  # not `x`: set on another object
    assert outside == ("sqlalchemy.types.TypeDecorator",)


def test_calls_through_an_annotated_receiver_count_for_the_method_where_it_is_defined():
    caller = ("from sqlalchemy.orm import Session\nfrom app.models import Child\n"
              "def run(child: Child, session: Session):\n    child.save(session, True)\n")
    idx = index_from_sources([*sorted(FILES.items()), ("app/run.py", caller)])
    assert idx.arguments("app.models.Base.save") == {"0": ("sqlalchemy.orm.Session",)}


def test_dataclasses_and_models_are_constructed_from_their_fields():
    events = (
        "from dataclasses import dataclass, field\nfrom typing import ClassVar\n"
        "from pydantic import BaseModel\nfrom starlette.requests import Request\n"
        "@dataclass\nclass Event:\n    request: Request\n    name: str\n"
        "    kind: ClassVar[str] = 'x'\n    extra: dict = field(default_factory=dict, init=False)\n"
        "@dataclass\nclass Import(Event):\n    rows: int = 0\n"
        "class Form(BaseModel):\n    request: Request\n"
        "class Plain:\n    request: Request\n"
    )
    idx = index_from_sources([("app/events.py", events)])
    init = idx.function("app.events.Import")
    assert init is not None and init.slots() == {
        "0": "starlette.requests.Request", "request": "starlette.requests.Request",
        "1": "builtins.str", "name": "builtins.str", "2": "builtins.int", "rows": "builtins.int"}
    form = idx.function("app.events.Form")
    assert form is not None and form.slots() == {"request": "starlette.requests.Request"}
    assert idx.function("app.events.Plain") is None


def test_calls_through_locals_bound_to_what_a_call_returns():
    app = ("from sqlalchemy.orm import Session\nfrom app.models import Base, Child\n"
           "class Admin:\n"
           "    def find(self, name: str) -> Child: ...\n"
           "    def run(self, session: Session):\n"
           "        child = self.find('x')\n        child.save(session, True)\n"
           "        base = Base(session)\n        base.save(session, False)\n"
           "        other: Child = make()\n        other.other()\n"
           "        again = self.find('y')\n        again = unknown()\n        again.save(session, 1)\n")
    idx = index_from_sources([*sorted(FILES.items()), ("app/admin.py", app)])
    # child.save and base.save both land on Base.save; `again` is bound twice, so it says nothing
    assert idx.arguments("app.models.Base.save") == {"0": ("sqlalchemy.orm.Session",) * 2}
    assert idx.value_type("app.admin.Admin.find()") == "app.models.Child"
    assert idx.value_type("app.models.Base()") == "app.models.Base"
    assert idx.value_type("nowhere.f()") is None


def test_fixtures_reach_tests_by_name_from_their_module_and_conftests_above():
    project = index_from_sources(sorted({
        "tests/conftest.py": ("import httpx, pytest\n@pytest.fixture\ndef client():\n"
                              "    return httpx.Client()\n@pytest.fixture\ndef url():\n"
                              "    return make_url()\n"),
        "tests/api/test_users.py": ("import pytest\n@pytest.fixture\ndef user(client):\n"
                                    "    return client\n"
                                    "def test_get(client, user, other):\n    ...\n"
                                    "def helper(client):\n    ...\n"),
        "other/test_x.py": "def test_y(client):\n    ...\n",
    }.items()))
    assert project.arguments("tests.api.test_users.test_get") == {"client": ("httpx.Client()",)}
    assert project.arguments("tests.api.test_users.user") == {"client": ("httpx.Client()",)}
    assert project.arguments("tests.api.test_users.helper") == {}  # not a test: pytest never calls it
    assert project.arguments("other.test_x.test_y") == {}  # no conftest above it


def test_a_first_index_worked_out_on_worker_processes_equals_the_one_worked_out_here(tmp_path):
    import subprocess

    from remora_review.project.scan import load_project_index

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for path, text in FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    for i in range(12):  # more modules than the threshold below, some calling the others
        (tmp_path / "app" / f"m{i}.py").write_text(
            f"from app.models import Child\nfrom sqlalchemy.orm import Session\n"
            f"def f{i}(child: Child, session: Session, n: int = {i}):\n"
            f"    child.save(session, True)\n    return n\n")
    (tmp_path / "app" / "latin1.py").write_bytes(b"x = '\xe9'\n")  # not UTF-8: no facts
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    here = load_project_index(tmp_path, ":", tmp_path / "c1", parallel_from=10**9)
    workers = load_project_index(tmp_path, ":", tmp_path / "c2", parallel_from=2)
    assert here.modules == workers.modules
    assert "app.m11" in workers.modules and "src.other" not in workers.modules
    cached = next((tmp_path / "c1").glob("project-facts-v*.json")).name
    assert (tmp_path / "c1" / cached).read_bytes() == (tmp_path / "c2" / cached).read_bytes()


def test_classes_are_one_read_only_mapping_per_index():
    # The inferer keeps what it derives from them by identity across a run's files.
    idx = index()
    classes = idx.classes()
    assert idx.classes() is classes
    try:
        classes["app.models.Other"] = (frozenset(), ())  # type: ignore[index]
    except TypeError:
        pass
    else:
        raise AssertionError("classes() must not be writable")


def test_the_servers_memo_gives_after_each_change_the_index_a_first_run_gives(tmp_path):
    """The warm server keeps each entry's facts between runs (ProjectMemo): after an edit, a
    file added and one removed, its index and the cache it writes are a first run's."""
    import subprocess

    from remora_review.project.scan import ProjectMemo, load_project_index

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for path, text in FILES.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    memo: dict[str, ProjectMemo] = {}
    first = load_project_index(repo, ":", tmp_path / "kept", memo=memo)
    assert load_project_index(repo, ":", tmp_path / "kept", memo=memo) is first
    (repo / "app" / "views.py").write_text("def view(session, extra: int): ...\n")
    (repo / "app" / "more.py").write_text("def more(n: int): ...\n")
    (repo / "app" / "models.py").unlink()
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    kept = load_project_index(repo, ":", tmp_path / "kept", memo=memo)
    fresh = load_project_index(repo, ":", tmp_path / "fresh")
    assert kept.modules == fresh.modules
    assert kept.function("app.views.view") is not None and "app.models" not in kept.modules
    (cache,) = (tmp_path / "fresh").glob("project-facts-v*.json")
    assert (tmp_path / "kept" / cache.name).read_bytes() == cache.read_bytes()


def _repo_of(tmp_path):
    import subprocess

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for path, text in FILES.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    _stage(repo)
    return repo


def _stage(repo):
    import subprocess

    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)


def test_an_edit_that_changes_no_modules_facts_keeps_the_servers_index(tmp_path):
    from remora_review.project.scan import ProjectMemo, load_project_index

    repo = _repo_of(tmp_path)
    memo: dict[str, ProjectMemo] = {}
    first = load_project_index(repo, ":", tmp_path / "kept", memo=memo)
    models = repo / "app" / "models.py"
    models.write_text(models.read_text() + "# a comment\n")
    _stage(repo)
    assert load_project_index(repo, ":", tmp_path / "kept", memo=memo) is first
    models.write_text(models.read_text().replace("flush: bool", "flush: int"))
    _stage(repo)
    changed = load_project_index(repo, ":", tmp_path / "kept", memo=memo)
    assert changed is not first
    assert changed.modules == load_project_index(repo, ":", tmp_path / "fresh").modules


def test_a_new_index_takes_the_last_ones_classes_where_no_class_changed(tmp_path):
    from remora_review.project.scan import ProjectMemo, load_project_index

    repo = _repo_of(tmp_path)
    memo: dict[str, ProjectMemo] = {}
    first = load_project_index(repo, ":", tmp_path / "kept", memo=memo)
    classes = first.classes()
    assert first.resolve("app.Base") == "app.models.Base"
    models = repo / "app" / "models.py"
    # A module-level function changes the module's facts, not its classes.
    models.write_text(models.read_text() + "def extra(session: int) -> None: ...\n")
    _stage(repo)
    passed = first.arguments("app.models.Child")
    assert passed == {"0": ("sqlalchemy.orm.Session",)}
    second = load_project_index(repo, ":", tmp_path / "kept", memo=memo)
    assert second is not first and second.classes() is classes
    assert second.function("app.models.extra") is not None  # its own facts, not the last ones'
    # The typed arguments of the modules that did not change are taken as they were.
    assert second.arguments("app.models.Child") == passed
    assert all(now is was for now, was in zip(second._arguments_by_module["app.views"],
                                              first._arguments_by_module["app.views"]))
    # What a function returns is read by the arguments of every caller, also in the modules
    # that did not change: `view(make())` in views.py, after `make` changed in models.py.
    views = repo / "app" / "views.py"
    views.write_text(views.read_text() + "def use(): view(extra(1))\n"
                     "from app.models import extra\n")
    _stage(repo)
    assert load_project_index(repo, ":", tmp_path / "kept", memo=memo).arguments(
        "app.views.view") == {"0": ("app.models.extra()",)}  # returns nothing the project knows
    models.write_text(models.read_text().replace("def extra(session: int) -> None",
                                                 "def extra(session: int) -> Child"))
    _stage(repo)
    third = load_project_index(repo, ":", tmp_path / "kept", memo=memo)
    fresh = load_project_index(repo, ":", tmp_path / "fresh0")
    assert third._arguments_by_module == fresh._arguments_by_module
    assert third.arguments("app.views.view") == fresh.arguments("app.views.view") == {
        "0": ("app.models.Child",)}
    # A function nothing here calls returns something else: the calls to others are kept.
    models.write_text(models.read_text() + "def unrelated() -> Child: ...\n")
    _stage(repo)
    fourth = load_project_index(repo, ":", tmp_path / "kept", memo=memo)
    assert all(now is was for now, was in zip(fourth._arguments_by_module["app.views"],
                                              third._arguments_by_module["app.views"]))
    assert fourth._arguments == load_project_index(repo, ":", tmp_path / "fresh9")._arguments
    # A method, an import or a class does change them: worked out anew, as a first run would.
    for edit in ("class Third(Child):\n    def third(self): ...\n",
                 "from app.views import view as Other\n"):
        models.write_text(models.read_text() + edit)
        _stage(repo)
        changed = load_project_index(repo, ":", tmp_path / "kept", memo=memo)
        fresh = load_project_index(repo, ":", tmp_path / f"fresh{len(edit)}")
        assert changed.classes() is not classes and changed.classes() == fresh.classes()
        assert changed.resolve("app.Base") == fresh.resolve("app.Base")
        classes = changed.classes()


def test_the_server_writes_the_cache_once_enough_of_its_entries_are_not_in_it(tmp_path):
    from remora_review.project.scan import ProjectMemo, cache_file, load_project_index

    repo = _repo_of(tmp_path)
    memo: dict[str, ProjectMemo] = {}
    load_project_index(repo, ":", tmp_path / "kept", memo=memo, unsaved_max=1)
    written = cache_file(tmp_path / "kept").read_bytes()
    (repo / "app" / "views.py").write_text("def view(session, extra: int): ...\n")
    _stage(repo)
    one = load_project_index(repo, ":", tmp_path / "kept", memo=memo, unsaved_max=1)
    assert cache_file(tmp_path / "kept").read_bytes() == written  # one new entry: kept in memo
    assert one.modules == load_project_index(repo, ":", tmp_path / "fresh1").modules
    (repo / "app" / "more.py").write_text("def more(n: int): ...\n")
    _stage(repo)
    two = load_project_index(repo, ":", tmp_path / "kept", memo=memo, unsaved_max=1)
    fresh = load_project_index(repo, ":", tmp_path / "fresh2")
    assert two.modules == fresh.modules
    assert cache_file(tmp_path / "kept").read_bytes() == \
        cache_file(tmp_path / "fresh2").read_bytes()


def test_usages_count_each_class_annotated_parameter_with_the_members_used_through_it():
    from remora_review.project.facts import ModuleFacts, extract_facts

    source = ("from typing import Any\nfrom sqlalchemy.orm import Session\n"
              "def f(s: Session, d: dict[str, Any], u: int | str, n, t: Session):\n"
              "    s.add(1); s.commit(); d.get('k')\n"
              "    def inner(s):\n        s.rollback()\n")
    facts = extract_facts("app.m", source)
    assert facts is not None
    # builtins, unions and generics name no library class a project could choose between
    assert facts.usages == (("sqlalchemy.orm.Session", ("add", "commit")),
                            ("sqlalchemy.orm.Session", ()))
    assert ModuleFacts.from_json(facts.to_json()) == facts
    usages = index_from_sources([("app/m.py", source)]).usages()
    assert usages["sqlalchemy.orm.Session"] == (2, {"add": 1, "commit": 1})


def test_an_adopted_index_counts_names_and_gathers_arguments_as_a_fresh_one_does(tmp_path):
    from remora_review.project.scan import ProjectMemo, load_project_index

    def plain(counts):
        return {assumed: {n: dict(c) for n, c in names.items()} for assumed, names in counts.items()}

    repo = _repo_of(tmp_path)
    memo: dict[str, ProjectMemo] = {}
    last = load_project_index(repo, ":", tmp_path / "kept", memo=memo)
    assert last.annotations_of("session") == {"sqlalchemy.orm.Session": 3}
    last.arguments("app.models.Base")  # worked out, so the next index takes it
    last.classes()
    views = repo / "app" / "views.py"
    edits = [
        # one more annotation of a name, and a call passing another class
        (views, "def more(session: Session, flush: int, kin: Child):\n    Child(flush)\n"),
        # an annotation gone, so its count falls to zero and the name with it
        (repo / "app" / "models.py", None),
        # a call that passes what another does, in a module that did not call it before
        (views, "def again(session: Session):\n    Base(session)\n"),
    ]
    for n, (path, added) in enumerate(edits):
        if added is None:
            path.write_text(path.read_text().replace("flush: bool", "flush"))
        else:
            path.write_text(path.read_text() + added)
        _stage(repo)
        now = load_project_index(repo, ":", tmp_path / "kept", memo=memo)
        fresh = load_project_index(repo, ":", tmp_path / f"fresh-{n}")
        assert now is not last and now.classes() is last.classes()  # adopted
        assert plain(now._annotations_by_name) == plain(fresh._annotations_by_name)
        assert now._arguments == fresh._arguments
        if n == 1:  # models.py passes nothing, and no other name changed: all taken as it was
            assert now.arguments("app.models.Base") is last.arguments("app.models.Base")
            assert now._annotations_by_name[False]["kin"] is last._annotations_by_name[False]["kin"]
        last = now
    assert last.annotations_of("flush") == {"builtins.int": 1}
    assert last.annotations_of("session") == {"sqlalchemy.orm.Session": 5}
    assert last.arguments("app.models.Base") == {"0": ("sqlalchemy.orm.Session",) * 2}
    assert last.arguments("app.models.Child") == {"0": ("sqlalchemy.orm.Session", "builtins.int")}


def test_the_servers_memo_lists_the_git_index_again_only_when_it_changed(tmp_path, monkeypatch):
    """The same index file (its checksum) is the same listing: no `ls-files` for it. A staged
    edit and a branch switch each list it again; an index not found (a linked worktree's) is
    listed every time."""
    import subprocess

    from remora_review import git
    from remora_review.project.scan import ProjectMemo, load_project_index

    repo = _repo_of(tmp_path)
    env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@x", "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "commit", "-qm", "one"], cwd=repo, check=True, env=env)
    listings: list[str] = []
    run = git.run

    def counted(root, *args, **kwargs):
        listings.extend(a for a in args if a == "ls-files")
        return run(root, *args, **kwargs)

    monkeypatch.setattr(git, "run", counted)
    memo: dict[str, ProjectMemo] = {}

    def loaded() -> tuple[dict[str, object], int]:
        listings.clear()
        index = load_project_index(repo, ":", tmp_path / "kept", memo=memo)
        assert index.modules == load_project_index(repo, ":", tmp_path / "fresh").modules
        return index.modules, listings.count("ls-files") - 1  # less the fresh one's

    first, listed = loaded()
    assert listed == 1
    assert loaded() == (first, 0)
    views = repo / "app" / "views.py"
    views.write_text(views.read_text() + "def later(n: int): ...\n")  # not staged: not listed
    assert loaded() == (first, 0)
    _stage(repo)
    staged, listed = loaded()
    assert listed == 1 and "later" in str(staged["app.views"])
    subprocess.run(["git", "stash", "-q"], cwd=repo, check=True, env=env)  # back to HEAD's index
    subprocess.run(["git", "switch", "-qc", "other"], cwd=repo, check=True, env=env)
    (repo / "app" / "views.py").unlink()
    subprocess.run(["git", "commit", "-qam", "two"], cwd=repo, check=True, env=env)
    switched, listed = loaded()
    assert listed == 1 and "app.views" not in switched
    subprocess.run(["git", "switch", "-q", "-"], cwd=repo, check=True, env=env)
    assert loaded() == (first, 1)
    # A linked worktree's `.git` is a file: its index is not read here, only listed.
    repo = tmp_path / "linked"
    subprocess.run(["git", "worktree", "add", "-q", str(repo), "other"], cwd=tmp_path / "repo",
                   check=True, env=env)
    assert git.index_checksum(repo) is None
    linked, listed = loaded()
    assert listed == 1 and "app.views" not in linked
    (repo / "app" / "more.py").write_text("def more(n: int): ...\n")
    _stage(repo)
    more, listed = loaded()
    assert listed == 1 and "app.more" in more
    assert loaded() == (more, 1)
