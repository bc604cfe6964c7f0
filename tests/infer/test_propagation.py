"""A project's modules predicted together: sure predictions travel across modules, round by round."""

from __future__ import annotations

from pathlib import Path

import pytest

from remora_review.infer.inferer import build_inferer
from remora_review.infer.propagation import predict_project, propagate
from remora_review.packs.loader import load_pack
from remora_review.project.scan import index_from_sources

PACKS = Path(__file__).resolve().parents[2] / "packs" / "remora_packs"
FILES = [
    # `session` is sure from its uses; `main` passes it to `audit` in another module, whose
    # `log` only passes it on to `write`, in a third, which never uses it and is also given a
    # `str`.
    ("app/db.py", "import sqlalchemy\nfrom app.audit import audit\n\n"
                  "def main(session, row):\n    session.add(row)\n    session.flush()\n"
                  "    session.query(type(row)).all()\n    audit(session)\n"),
    ("app/audit.py", "import sqlalchemy\nfrom app.sink import write\n\n"
                     "def audit(log):\n    write(log)\n    write('plain')\n"),
    ("app/sink.py", "import sqlalchemy\n\ndef write(target):\n    print(target)\n"),
]


@pytest.fixture(scope="module")
def inferer():
    return build_inferer([load_pack(PACKS / "sqlalchemy.pack")], None)


def _sure(inferer, rounds):
    found = predict_project(FILES, {p: inferer for p, _ in FILES}, index_from_sources(FILES),
                            rounds)
    return {(p.function, p.parameter): p.candidates[0].annotation
            for predictions in found.values() for p in predictions if p.confidence >= 0.9}


def test_a_sure_class_travels_along_callers_across_modules_until_they_disagree(inferer):
    assert _sure(inferer, 1) == {("main", "session"): "sqlalchemy.orm.Session"}
    # `log` is given the class by its caller in another module, sure enough to report and so to
    # pass on; `target` is given a Session and a str, so it is not sure.
    assert _sure(inferer, 4) == {("main", "session"): "sqlalchemy.orm.Session",
                                 ("audit", "log"): "sqlalchemy.orm.Session"}


def test_a_module_is_ranked_again_only_when_what_it_reads_changed(inferer, monkeypatch):
    # Round 1 ranks the three modules; `main`'s session is sure, so round 2 ranks anew only
    # `audit`, whose caller now passes a Session. Its `log` is then sure: round 3 ranks anew the
    # modules that read it (`main` passes its session to `log`, `target` is given it), and round
    # 4 nothing: the fixed point.
    ranked: list[str] = []
    predict = inferer.predict

    def counted(profiles, declared, project, imported, module, usages):
        ranked.append(module)
        return predict(profiles, declared, project, imported, module, usages)

    monkeypatch.setattr(inferer, "predict", counted)
    found = propagate(FILES, {p: inferer for p, _ in FILES}, index_from_sources(FILES), 4)
    assert ranked == ["app.db", "app.audit", "app.sink", "app.audit", "app.db", "app.sink"]
    sure = {(p.function, p.parameter) for ps in found.predictions.values() for p in ps
            if p.confidence >= 0.9}
    assert sure == {("main", "session"), ("audit", "log")}  # the fixed point, as above


def test_the_modules_with_no_sure_parameter_of_their_own_share_one_index(inferer):
    # `main`'s session and `audit`'s log are sure: their modules' facts are assumed (annotated)
    # for the others. app.sink, with no sure parameter of its own, is predicted with both, in an
    # index built once that every such module shares, taking the project's classes as they are;
    # each of the two others is predicted with the other's facts assumed and its own as written.
    found = propagate(FILES, {p: inferer for p, _ in FILES}, index_from_sources(FILES), 4)
    assert set(found.assumed) == {"app.db", "app.audit"}
    sink = found.index_for("app.sink")
    assert sink is found.index_for("app.elsewhere")
    assert sink.modules["app.db"] is found.assumed["app.db"]
    assert sink.modules["app.audit"] is found.assumed["app.audit"]
    assert sink.classes() is found.project.classes()
    db = found.index_for("app.db")
    assert db.modules["app.db"] is found.project.modules["app.db"]
    assert db.modules["app.audit"] is found.assumed["app.audit"]


def test_a_typevar_the_project_annotates_a_name_with_leaves_the_habit_to_sure_predictions(
        inferer, tmp_path):
    # Five modules make `statement` a sure Select from its uses; `fetch` does nothing with its
    # own but pass it on. The `statement`s the project annotates are of a TypeVar: it names no
    # class, so the other modules' sure predictions make the project's habit for the name.
    files = {f"app/q{i}.py": ("import sqlalchemy\n\ndef run(session, statement):\n"
                              "    statement = statement.where(1).order_by(2).limit(3)\n"
                              "    return session.execute(statement.offset(4))\n")
             for i in range(5)}
    files["app/kinds.py"] = "from typing import TypeVar\n\nStatementT = TypeVar('StatementT')\n"
    files["app/same.py"] = "from app.kinds import StatementT\n" + "".join(
        f"\ndef same{i}(statement: StatementT) -> StatementT:\n    return statement\n"
        for i in range(3))
    files["app/service.py"] = ("import sqlalchemy\nfrom app.same import same0\n\n"
                               "def fetch(statement):\n    return same0(statement)\n")
    for path, source in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    read = sorted((str(p.relative_to(tmp_path)), p.read_text()) for p in tmp_path.rglob("*.py"))
    found = predict_project(read, {p: inferer for p, _ in read}, index_from_sources(read))
    (fetch,) = found["app/service.py"]
    assert fetch.candidates[0].annotation == "sqlalchemy.Select", fetch
    assert fetch.confidence >= 0.9, fetch


# An admin's fields: the views call `field.parse_value(request, obj)` on fields from a list, whose
# class nothing says; `parse_value` is defined only by `BaseField` and its subclasses. Their
# parameter's name (`r`) says nothing.
ADMIN = {
    "admin/fields.py": ("import starlette\n\n\nclass BaseField:\n"
                        "    async def parse_value(self, r, obj):\n"
                        "        return self.getter(r, obj)\n\n\n"
                        "class IntegerField(BaseField):\n"
                        "    async def parse_value(self, r, obj):\n"
                        "        return int(obj)\n"),
    "admin/views.py": ("from starlette.responses import JSONResponse\n"
                       "from starlette.routing import Route\n\n\nclass View:\n"
                       "    async def serialize(self, obj, request):\n"
                       "        out = {}\n        for field in self.fields:\n"
                       "            out[field.name] = await field.parse_value(request, obj)\n"
                       "        return out\n\n\n"
                       "async def detail(request):\n"
                       "    view = View()\n"
                       "    return JSONResponse(await view.serialize(request.path_params, request))\n"
                       "\n\nroutes = [Route('/', detail)]\n"),
}


def _written(tmp_path, files):
    for path, source in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    return sorted((str(p.relative_to(tmp_path)), p.read_text()) for p in tmp_path.rglob("*.py"))


def test_a_method_called_on_a_value_of_unknown_class_is_the_one_hierarchy_that_defines_it(
        tmp_path):
    # Starlette gives `detail` its Request; it travels to `serialize`, and from there, by the
    # method's name, to both `parse_value`s, which only pass it on.
    inferer = build_inferer([load_pack(PACKS / "fastapi.pack")], None)
    read = _written(tmp_path, ADMIN)
    found = predict_project(read, {p: inferer for p, _ in read}, index_from_sources(read))
    sure = {(p.function, p.parameter): p.candidates[0].annotation
            for p in found["admin/fields.py"] if p.confidence >= 0.9}
    assert sure == {("parse_value", "r"): "fastapi.Request"}
    assert sum(p.parameter == "r" and p.confidence >= 0.9
               for p in found["admin/fields.py"]) == 2


def test_a_method_name_two_hierarchies_define_or_a_library_has_reaches_neither(tmp_path):
    inferer = build_inferer([load_pack(PACKS / "fastapi.pack")], None)
    other = ("import starlette\n\n\nclass Exporter:\n"
             "    async def parse_value(self, r, obj):\n        return obj\n")
    # pydantic's models have a `parse_obj`: `field.parse_obj(request)` may be a library call.
    library_named = {path: source.replace("parse_value", "parse_obj")
                     for path, source in ADMIN.items()}
    for files in ({**ADMIN, "admin/export.py": other}, library_named):
        read = _written(tmp_path / str(len(files)), files)
        found = predict_project(read, {p: inferer for p, _ in read}, index_from_sources(read))
        assert not [p for p in found["admin/fields.py"] if p.confidence >= 0.9], found


def test_a_method_and_its_override_in_another_module_pool_their_uses(inferer):
    # Neither use alone is sure (`add` fits the async session too; `merge` and `flush`, a
    # scoped_session); an override takes the values its base method does, so each takes the other's.
    files = [
        ("app/base.py", "import sqlalchemy\n\n\nclass Store:\n"
                        "    def save(self, target, row):\n        target.add(row)\n"),
        ("app/sql.py", "import sqlalchemy\nfrom app.base import Store\n\n\nclass SqlStore(Store):\n"
                       "    def save(self, target, row):\n        target.merge(row)\n"
                       "        target.flush()\n"),
    ]
    found = predict_project(files, {p: inferer for p, _ in files}, index_from_sources(files))
    for path, _ in files:
        (target,) = [p for p in found[path] if p.parameter == "target"]
        assert target.candidates[0].annotation == "sqlalchemy.orm.Session"
        assert target.confidence >= 0.9, path


def test_a_call_through_an_attribute_the_class_stores_reaches_the_stored_class(inferer):
    # `self.calls.record(session)`: `calls` holds a CallList (Router stores nothing else there),
    # so the session goes to CallList.record, not to the other `record` the project defines.
    files = [
        ("app/calls.py", "import sqlalchemy\n\n\nclass CallList:\n"
                         "    def record(self, target):\n        print(target)\n\n\n"
                         "class Journal:\n    def record(self, target):\n        print(target)\n"),
        ("app/router.py", "import sqlalchemy\nfrom app.calls import CallList\n\n\nclass Router:\n"
                          "    def __init__(self):\n        self.calls = CallList()\n\n"
                          "    def track(self, session, row):\n        session.add(row)\n"
                          "        session.flush()\n        session.query(type(row)).all()\n"
                          "        self.calls.record(session)\n"),
    ]
    found = predict_project(files, {p: inferer for p, _ in files}, index_from_sources(files))
    sure = {(p.line, p.parameter): p.candidates[0].annotation
            for p in found["app/calls.py"] if p.confidence >= 0.9}
    assert sure == {(5, "target"): "sqlalchemy.orm.Session"}  # CallList's, not Journal's


def test_a_closure_passes_its_parameter_through_the_names_of_its_method(inferer):
    # A route factory's endpoint: `crud` is the method's local, a `Crud`, whose `get` takes an
    # AsyncSession; the endpoint only passes `db` on to it.
    files = [
        ("app/crud.py", "import sqlalchemy\nfrom sqlalchemy.ext.asyncio import AsyncSession\n\n\n"
                        "class Crud:\n    async def get(self, db: AsyncSession, key):\n"
                        "        return await db.get(object, key)\n"),
        ("app/routes.py", "import sqlalchemy\nfrom app.crud import Crud\n\n\nclass Creator:\n"
                          "    def crud_for(self, policy) -> Crud:\n        return Crud()\n\n"
                          "    def read_item(self):\n        crud = self.crud_for(None)\n\n"
                          "        async def endpoint(db, key):\n"
                          "            return await crud.get(db, key)\n\n"
                          "        return endpoint\n"),
    ]
    found = predict_project(files, {p: inferer for p, _ in files}, index_from_sources(files))
    (db,) = [p for p in found["app/routes.py"] if p.parameter == "db"]
    assert db.candidates[0].annotation == "sqlalchemy.ext.asyncio.AsyncSession"
    assert db.confidence >= 0.9


def test_an_attribute_holding_a_sure_parameter_passes_its_class_on(inferer):
    # `self.session = session` with `session` sure from its uses: `write(self.session)` in
    # another method passes a Session to `write`, in another module.
    files = [
        ("app/holder.py", "import sqlalchemy\nfrom app.sink import write\n\n\nclass Holder:\n"
                          "    def __init__(self, session, row):\n        session.add(row)\n"
                          "        session.flush()\n        session.query(type(row)).all()\n"
                          "        self.session = session\n\n"
                          "    def save(self):\n        write(self.session)\n"),
        ("app/sink.py", "import sqlalchemy\n\ndef write(target):\n    print(target)\n"),
    ]
    found = predict_project(files, {p: inferer for p, _ in files}, index_from_sources(files))
    (target,) = found["app/sink.py"]
    assert target.candidates[0].annotation == "sqlalchemy.orm.Session"
    assert target.confidence >= 0.9
