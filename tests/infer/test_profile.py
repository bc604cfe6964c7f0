import libcst as cst
import libcst.metadata as meta

from remora_review.infer.profile import (
    MethodCall,
    ProfileBuilder,
    UsageProfile,
    annotation_class,
    parse_profiles,
)

SOURCE = '''
from typing import Optional
from sqlalchemy.orm import Session
import httpx


class Repo:
    def save(self, s, user, *, flush=False):
        s.add(user)
        if flush:
            s.flush()
        s.commit()
        s.info["x"] = 1
        s.autoflush = False
        return user.id


async def fetch(client, url):
    async with client:
        response = await client.get(url, timeout=3)
    for item in client.items:
        pass
    isinstance(client, httpx.AsyncClient)
    helper(client, key=url)
    return len(response)


def helper(c: httpx.AsyncClient, key: Optional[str]) -> None: ...
'''


def _profiles():
    builder, sites = parse_profiles(SOURCE)
    return builder, {(s.function.name.value, s.profile.name): s for s in sites}


def test_method_calls_attributes_and_writes():
    _, sites = _profiles()
    s = sites[("save", "s")].profile
    assert s.calls == (MethodCall("add", 1), MethodCall("commit", 0), MethodCall("flush", 0))
    assert s.attributes == {"info"}
    assert s.assigned == {"autoflush"}
    assert ("save", "self") not in sites  # the receiver is not a parameter to infer


def test_async_protocols_and_data_flow():
    _, sites = _profiles()
    client = sites[("fetch", "client")].profile
    assert client.calls == (MethodCall("get", 1, ("timeout",), awaited=True),)
    assert {"async_with"} <= client.protocols
    assert client.attributes == {"items"}
    assert client.isinstance_of == {"httpx.AsyncClient"}
    assert ("helper", "0") in client.passed_to
    assert client.is_async_function


def test_profile_json_round_trip_and_text():
    _, sites = _profiles()
    profile = sites[("fetch", "client")].profile
    again = UsageProfile.from_json(profile.to_json())
    assert again.text() == profile.text()
    assert "await get(1, timeout=)" in profile.text()
    assert "fetch" not in profile.text(with_name=False)


def test_annotation_class_resolves_through_imports():
    builder, sites = _profiles()
    assert annotation_class(builder, sites[("helper", "c")].annotation) == "httpx.AsyncClient"
    assert annotation_class(builder, sites[("helper", "key")].annotation) == "builtins.str"


def test_calls_on_annotated_receivers_name_the_receivers_class():
    source = (
        "from sqlalchemy.orm import Session\nfrom .views import BaseView\n"
        "def f(request, view: BaseView, s: Session, stmt, *, other: BaseView):\n"
        "    view.fields(request)\n    s.execute(stmt)\n    other.render(stmt, r=request)\n"
    )
    _, sites = parse_profiles(source)
    by_name = {s.profile.name: s.profile for s in sites}
    assert by_name["request"].passed_to == ((".views.BaseView.fields", "0"),
                                            (".views.BaseView.render", "r"))
    assert ("sqlalchemy.orm.Session.execute", "0") in by_name["stmt"].passed_to


def test_a_value_stored_on_the_instance_takes_the_uses_of_that_attribute():
    source = (
        "class Repo:\n"
        "    def __init__(self, session, name):\n"
        "        self.session = session\n        self.name = name\n"
        "    def save(self, obj):\n"
        "        self.session.add(obj)\n        self.session.commit()\n"
        "        self.session = None\n"
        "        log(self.name)\n"
    )
    _, sites = parse_profiles(source)
    by_name = {s.profile.name: s.profile for s in sites}
    assert by_name["session"].calls == (MethodCall("add", 1), MethodCall("commit", 0))
    assert by_name["name"].passed_to == (("log", "0"),)
    assert by_name["obj"].calls == ()


def test_calls_on_a_local_bound_once_to_a_call_name_that_call():
    source = (
        "import httpx\nclass Admin:\n    def find(self, name): ...\n"
        "    def run(self, request, x, y):\n"
        "        view = self.find('a')\n        view.render(request)\n"
        "        client = httpx.Client()\n        client.send(x)\n"
        "        again = make()\n        again = make()\n        again.send(y)\n"
    )
    _, sites = parse_profiles(source)
    by_name = {s.profile.name: s.profile for s in sites}
    assert by_name["request"].passed_to == (("Admin.find().render", "0"),)
    assert by_name["x"].passed_to == (("httpx.Client().send", "0"),)
    assert by_name["y"].passed_to == ()  # bound twice: its class is not known


def test_a_closure_calls_through_the_names_of_the_method_it_is_defined_in():
    # a route factory's endpoint: `self` and `crud` are the method's values inside it, unless
    # the closure binds the name itself
    source = (
        "class Creator:\n    def crud_for(self, policy): ...\n"
        "    def read_item(self):\n        crud = self.crud_for(None)\n"
        "        async def endpoint(db, request, policy):\n"
        "            await crud.get(db)\n            self.check(request)\n"
        "            def inner(other, crud):\n                crud.get(other)\n"
        "        return endpoint\n"
    )
    _, sites = parse_profiles(source)
    by_name = {s.profile.name: s.profile for s in sites}
    assert by_name["db"].passed_to == (("Creator.crud_for().get", "0"),)
    assert by_name["request"].passed_to == (("Creator.check", "0"),)
    assert by_name["other"].passed_to == ()  # its own `crud` parameter, of unknown class


def test_calls_on_a_receiver_annotated_with_a_generic_class_name_that_class():
    source = ("from sqlalchemy import Select\n"
              "def f(stmt: Select[tuple[int]], clause):\n    stmt.where(clause)\n")
    _, sites = parse_profiles(source)
    by_name = {s.profile.name: s.profile for s in sites}
    assert by_name["clause"].passed_to == (("sqlalchemy.Select.where", "0"),)


def test_a_top_level_functions_sites_walk_only_that_function():
    """Whether a function is a method is asked of its parents: for a top-level function the
    question ended at the module, whose own parent was looked for by walking every statement
    (a tenth of a warm hook's review)."""
    source = "def first(s):\n    s.add(1)\n\n\nclass Big:\n" + "".join(
        f"    def m{i}(self, x):\n        return x.y{i}\n" for i in range(50))
    builder = ProfileBuilder(meta.MetadataWrapper(cst.parse_module(source)))
    first = next(f for f in builder.functions() if f.name.value == "first")
    assert [s.param.name.value for s in builder.sites(first)] == ["s"]
    assert builder.parents.get(builder.wrapper.module) is None
    assert builder.parents._walked <= {first}  # what the fix is about


def test_the_attributes_a_value_is_stored_as_are_its_other_names():
    _, sites = parse_profiles("class Repo:\n    def __init__(self, p, q):\n"
                              "        self.connection = p\n        self.engine = p\n"
                              "        pipe = q or self.connection\n        pipe.execute(1)\n")
    found = {s.profile.name: s.profile for s in sites}
    assert found["p"].other_names == ("connection", "engine")
    # a local is no name for the value: `pipe` holds either
    assert found["q"].other_names == ()
    assert UsageProfile.from_json(found["p"].to_json()) == found["p"]
