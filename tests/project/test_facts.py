"""Project facts read with `ast`: signatures, bases and typed call arguments as absolute paths."""

from __future__ import annotations

from remora_review.project.facts import ModuleFacts, extract_facts
from remora_review.pysource.imports import absolute, module_name

SOURCE = '''
from __future__ import annotations
from typing import TYPE_CHECKING, Optional
from .base import Repository
from .. import helpers
import sqlalchemy as sa

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

def save(session: Session, row, *, flush: "Optional[Session]" = None) -> Session:
    helpers.store(session)
    return session

class Users(Repository, sa.types.TypeDecorator):
    def add(self, session: "Session | None", name: str, items: list[Session]):
        self.check(session, name=name)
        save(session)

    @staticmethod
    def make(engine: sa.Engine):
        def inner(session: Session):
            save(session)
'''


def facts() -> ModuleFacts:
    found = extract_facts("app.repo.users", SOURCE)
    assert found is not None
    return found


def test_signatures_resolve_annotations_through_imports_and_strings():
    f = facts().functions
    assert f["save"].slots() == {"0": "sqlalchemy.orm.Session", "session": "sqlalchemy.orm.Session",
                                 "flush": "sqlalchemy.orm.Session"}
    assert f["save"].returns == "sqlalchemy.orm.Session"
    # self is not a slot; a generic container is not its element type; builtins are kept
    assert f["Users.add"].slots() == {"0": "sqlalchemy.orm.Session", "session": "sqlalchemy.orm.Session",
                                      "1": "builtins.str", "name": "builtins.str"}
    assert f["Users.make"].slots() == {"0": "sqlalchemy.Engine", "engine": "sqlalchemy.Engine"}
    assert "Users.make.inner" not in f  # nested functions are not addressable from outside


def test_class_bases_are_absolute():
    assert facts().classes["Users"] == ("app.repo.base.Repository", "sqlalchemy.types.TypeDecorator")


def test_typed_arguments_name_their_callee_and_slot():
    args = {(a.callee, a.slot, a.annotation) for a in facts().arguments}
    assert ("app.helpers.store", "0", "sqlalchemy.orm.Session") in args
    assert ("app.repo.users.Users.check", "0", "sqlalchemy.orm.Session") in args
    assert ("app.repo.users.Users.check", "name", "builtins.str") in args
    assert ("app.repo.users.save", "0", "sqlalchemy.orm.Session") in args
    # `inner` is nested: its call passes inner's own parameter, not make's
    assert all(a.callee != "app.repo.users.save" or a.slot == "0" for a in facts().arguments)


def test_facts_round_trip_through_json():
    assert ModuleFacts.from_json(facts().to_json()) == facts()


def test_module_names_and_relative_paths():
    assert module_name("src/app/repo/users.py") == "app.repo.users"
    assert module_name("app/__init__.py") == "app"
    assert module_name("scripts/build-all.py") is None
    assert module_name("README.md") is None
    assert absolute("..util.f", "app.repo.users", False) == "app.util.f"
    assert absolute(".base", "app.repo", True) == "app.repo.base"
    assert absolute("pkg.mod", "app", False) == "pkg.mod"


def test_a_file_that_does_not_parse_has_no_facts():
    assert extract_facts("m", "def f(:\n") is None


def test_a_subscripted_generic_class_is_that_class_and_a_container_is_not():
    source = ("from typing import Callable, Optional, Sequence\n"
              "from sqlalchemy import Select\n"
              "def f(a: Select[tuple[int]], b: Optional[Select[tuple[int]]], c: Sequence[Select],\n"
              "      d: Callable[[], Select], e: list[Select]): ...\n")
    facts = extract_facts("m", source)
    assert facts is not None
    assert [p.annotation for p in facts.functions["f"].params] == [
        "sqlalchemy.Select", "sqlalchemy.Select", None, None, None]


def test_with_as_binds_a_local_to_the_entered_call_and_library_calls_stay_calls():
    found = extract_facts("app.jobs", (
        "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import Session\n"
        "from app.db import keep\n\n"
        "def main(url):\n    engine = create_engine(url)\n    keep(engine)\n"
        "    with Session(engine) as s:\n        keep(s, other=s)\n"))
    assert found is not None
    assert {(a.callee, a.slot, a.annotation) for a in found.arguments} == {
        ("app.db.keep", "0", "sqlalchemy.create_engine()"),
        ("sqlalchemy.orm.Session", "0", "sqlalchemy.create_engine()"),
        ("app.db.keep", "0", "sqlalchemy.orm.Session()"),
        ("app.db.keep", "other", "sqlalchemy.orm.Session()")}


def test_starlette_endpoints_handlers_and_middleware_are_given_the_request():
    found = extract_facts("app.main", (
        "from starlette.applications import Starlette\n"
        "from starlette.routing import Route, WebSocketRoute\nfrom app import pages\n\n"
        "def home(request):\n    ...\n\nasync def feed(ws):\n    ...\n\n"
        "async def on_error(request, exc):\n    ...\n\n"
        "app = Starlette(routes=[Route('/', home), WebSocketRoute('/ws', endpoint=feed),"
        " Route('/about', pages.about)])\n"
        "app.add_exception_handler(ValueError, on_error)\n\n"
        "@app.middleware('http')\nasync def timing(request, call_next):\n    ...\n\n"
        "@app.get('/items')\nasync def items(request):\n    ...\n"))
    assert found is not None
    assert {(a.callee, a.slot, a.annotation) for a in found.injected} == {
        ("app.main.home", "0", "starlette.requests.Request"),
        ("app.main.feed", "0", "starlette.websockets.WebSocket"),
        ("app.pages.about", "0", "starlette.requests.Request"),
        ("app.main.on_error", "0", "starlette.requests.Request"),
        ("app.main.timing", "0", "starlette.requests.Request")}  # FastAPI's @app.get injects by annotation


def test_registering_methods_are_matched_only_where_a_framework_is_imported():
    found = extract_facts("app.jobs", "def run(job):\n    ...\n\nqueue.add_route('x', run)\n")
    assert found is not None and found.injected == ()


def test_pytest_fixtures_are_read_with_the_class_of_their_value():
    found = extract_facts("tests.conftest", (
        "import httpx\nimport pytest\nfrom sqlalchemy.orm import Session\n\n"
        "@pytest.fixture\ndef client():\n    with httpx.Client() as c:\n        yield c\n\n"
        "@pytest.fixture(name='db')\ndef _db(engine) -> Session:\n    return Session(engine)\n\n"
        "@pytest.fixture\ndef url():\n    return 'sqlite://'\n\n"
        "def helper():\n    return httpx.Client()\n"))
    assert found is not None
    assert found.fixtures == {"client": "httpx.Client()", "db": "sqlalchemy.orm.Session",
                              "url": None}
    assert ModuleFacts.from_json(found.to_json()) == found


def test_an_annotated_local_keeps_its_class_over_a_with_binding():
    found = extract_facts("app.jobs", (
        "from sqlalchemy.orm import Session\nfrom app.db import keep\n\n"
        "def main(view):\n    session: Session\n"
        "    with view.maker() as session:\n        keep(session)\n"))
    assert found is not None
    assert [(a.callee, a.annotation) for a in found.arguments] == [
        ("app.db.keep", "sqlalchemy.orm.Session")]


def test_an_application_class_that_routes_to_its_own_methods_gives_them_the_request():
    found = extract_facts("app.admin", (
        "from starlette.applications import Starlette\nfrom starlette.routing import Route\n\n"
        "class Admin:\n"
        "    def __init__(self):\n"
        "        routes = [Route('/', endpoint=self.index), Route('/list', self.listing)]\n"
        "        self.app = Starlette(routes=routes, exception_handlers={404: self.missing})\n"
        "        self.app.exception_handlers = {500: self.failed}\n\n"
        "    async def index(self, request):\n        ...\n\n"
        "    async def listing(self, request):\n        ...\n\n"
        "    class Nested:\n"
        "        def build(this):\n            return Route('/n', this.show)\n\n"
        "def outside(other):\n    return Route('/o', other.show)\n"))
    assert found is not None
    assert {(a.callee, a.slot, a.annotation) for a in found.injected
            if a.annotation.startswith("starlette")} == {
        ("app.admin.Admin.index", "0", "starlette.requests.Request"),
        ("app.admin.Admin.listing", "0", "starlette.requests.Request"),
        ("app.admin.Admin.missing", "0", "starlette.requests.Request"),
        ("app.admin.Admin.failed", "0", "starlette.requests.Request"),
        ("app.admin.Admin.Nested.show", "0", "starlette.requests.Request")}


def test_sqlalchemy_event_listeners_are_read_with_their_event():
    found = extract_facts("app.listeners", (
        "from sqlalchemy import event\nfrom sqlalchemy.orm import Session\n"
        "from app.hooks import Hooks\n\n"
        "def stamp(session, flush_context, instances):\n    ...\n\n"
        "@event.listens_for(Session, 'after_commit')\ndef committed(session):\n    ...\n\n"
        "@event.listens_for(Session, 'after_rollback', named=True)\ndef by_name(**kw):\n    ...\n\n"
        "def install(maker, name):\n"
        "    event.listen(maker, 'before_flush', stamp)\n"
        "    event.listen(maker, 'after_commit', Hooks.after_commit)\n"
        "    event.listen(maker, name, stamp)\n\n"
        "def install_late(maker):\n"
        "    from sqlalchemy import event as ev\n    from app.late import flushed\n"
        "    ev.listen(maker, 'after_flush', flushed)\n\n"
        "def install_all(maker):\n"
        "    listeners = {'after_begin': Hooks.begun, 'after_soft_rollback': Hooks.undone}\n"
        "    if maker is None:\n        listeners = {'after_commit': Hooks.other}\n"
        "    for name, fn in listeners.items():\n"
        "        if fn is not None:\n            event.listen(maker, name, fn)\n"
        "    for name, fn in {'after_attach': Hooks.attached}.items():\n"
        "        print(name, fn)\n\n"
        "def install_one(maker):\n"
        "    listeners = {'after_bulk_update': Hooks.updated}\n"
        "    for name, fn in listeners.items():\n        event.listen(maker, name, fn)\n"))
    assert found is not None
    assert set(found.listened) == {("app.listeners.stamp", "before_flush"),
                                   ("app.listeners.committed", "after_commit"),
                                   ("app.hooks.Hooks.after_commit", "after_commit"),
                                   ("app.late.flushed", "after_flush"),
                                   ("app.hooks.Hooks.updated", "after_bulk_update")}
    assert ModuleFacts.from_json(found.to_json()) == found


def test_literals_passed_are_arguments_of_their_builtin_class():
    source = ("def write(target, *rest): ...\n"
              "def main(x):\n"
              "    write('plain')\n    write(f'{x}')\n    write(3)\n    write([x])\n"
              "    write({'k': x})\n    write(None)\n    write(True)\n    write(x)\n")
    found = extract_facts("app.sink", source)
    assert found is not None
    passed = sorted(a.annotation for a in found.arguments if a.callee == "app.sink.write")
    # `None` and a bool say nothing of the class (an optional, a flag); an unknown name neither
    assert passed == ["builtins.dict", "builtins.int", "builtins.list", "builtins.str",
                      "builtins.str"]


def test_a_call_through_a_stored_attribute_names_the_stored_class_method():
    source = ("from app.calls import CallList, Journal\n\n"
              "class Router:\n"
              "    log: Journal\n\n"
              "    def track(self, row: int):\n"
              "        self.calls.record(row)\n        self.log.record(row)\n"
              "        self.other.record(row)\n        self.mixed.record(row)\n\n"
              "    def __init__(self, mixed):\n        self.calls = CallList()\n"
              "        self.mixed = CallList()\n        self.mixed = Journal()\n")
    found = extract_facts("app.router", source)
    assert found is not None
    # what `__init__` stores, though it comes later; what the class annotates; else by name
    assert sorted(a.callee for a in found.arguments) == [
        "?.record", "?.record", "app.calls.CallList().record", "app.calls.Journal.record"]


def test_a_stored_attribute_passed_on_is_an_argument_of_what_the_class_stores():
    source = ("from app.web import Templates, mount\n\n"
              "class Admin:\n"
              "    def routes(self):\n"
              "        mount(self.templates)\n        mount(self.unknown)\n"
              "        self.provider.get_routes(self.templates)\n\n"
              "    def __init__(self, provider):\n        self.templates = Templates()\n"
              "        self.provider = provider\n")
    found = extract_facts("app.admin", source)
    assert found is not None
    # `self.unknown` is stored nowhere: no argument; `self.provider` holds an untyped
    # parameter: the call goes by the method's name
    assert sorted((a.callee, a.annotation) for a in found.arguments) == [
        ("?.get_routes", "app.web.Templates()"), ("app.web.mount", "app.web.Templates()")]
