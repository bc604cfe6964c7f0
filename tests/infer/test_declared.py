"""Declared types as evidence: flows into the project's annotated functions, overrides of annotated
methods, annotated values passed in by callers, returns. Names here say nothing (`x`, `d`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from remora_review.infer.inferer import build_inferer
from remora_review.infer.profile import parse_profiles
from remora_review.infer.rounds import predict_source
from remora_review.infer.signals import Signals
from remora_review.packs.loader import load_pack
from remora_review.project.scan import index_from_sources

PACKS = Path(__file__).resolve().parents[2] / "packs" / "remora_packs"

STORE = ("from sqlalchemy.orm import Session\n"
         "def store(session: Session, row) -> None:\n"
         "    session.add(row)\n")


@pytest.fixture(scope="module")
def inferer():
    return build_inferer([load_pack(PACKS / "sqlalchemy.pack")], None)


def _best(predictions, parameter):
    (found,) = [p for p in predictions if p.parameter == parameter]
    return found.candidates[0].annotation, found.confidence


def test_a_value_passed_to_an_annotated_project_function(inferer):
    source = ("import sqlalchemy\nfrom app.db import store\n"
              "def f(x, row):\n    store(x, row)\n    x.commit()\n")
    project = index_from_sources([("app/db.py", STORE)])
    annotation, confidence = _best(predict_source(source, inferer, "app/views.py", project), "x")
    assert annotation == "sqlalchemy.orm.Session" and confidence >= 0.8
    # without the rest of the project, `commit` alone says less
    _, alone = _best(predict_source(source, inferer, "app/views.py"), "x")
    assert alone < confidence - 0.1


def test_declarations_that_agree_reach_the_default_threshold(inferer):
    caller = ("from sqlalchemy.orm import Session\nfrom app.views import f\n"
              "def main(session: Session):\n    f(session, 1)\n")
    source = ("import sqlalchemy\nfrom app.db import store\n"
              "def f(x, row):\n    store(x, row)\n    x.commit()\n")
    project = index_from_sources([("app/db.py", STORE), ("app/main.py", caller),
                                  ("app/cli.py", caller)])
    annotation, confidence = _best(predict_source(source, inferer, "app/views.py", project), "x")
    assert annotation == "sqlalchemy.orm.Session" and confidence >= 0.95


def test_an_override_of_an_annotated_library_method(inferer):
    source = ("import sqlalchemy\n"
              "class Upper(sqlalchemy.types.TypeDecorator):\n"
              "    impl = sqlalchemy.String\n"
              "    def process_bind_param(self, value, d):\n"
              "        return value.upper()\n")
    annotation, confidence = _best(predict_source(source, inferer, "app/types.py"), "d")
    assert annotation == "sqlalchemy.Dialect" and confidence >= 0.9


def test_annotated_values_passed_in_by_the_project_callers(inferer):
    caller = ("from sqlalchemy.orm import Session\nfrom app.jobs import run\n"
              "def main(session: Session):\n    run(session)\n")
    source = "import sqlalchemy\ndef run(x):\n    print(x)\n"
    project = index_from_sources([("app/main.py", caller)])
    annotation, confidence = _best(predict_source(source, inferer, "app/jobs.py", project), "x")
    assert annotation == "sqlalchemy.orm.Session" and confidence >= 0.5


def test_a_value_passed_on_as_a_builtin_is_not_a_library_class(inferer):
    source = ("import sqlalchemy\nfrom app.text import shout\n"
              "def f(session):\n    shout(session)\n")
    project = index_from_sources([("app/text.py", "def shout(s: str) -> str:\n    return s\n")])
    with_str = [p for p in predict_source(source, inferer, "app/f.py", project) if p.parameter == "session"]
    plain = [p for p in predict_source(source, inferer, "app/f.py") if p.parameter == "session"]
    assert len(plain) == len(with_str) == 1 and with_str[0].confidence < plain[0].confidence


def test_a_stub_method_takes_the_type_its_project_subclasses_declare(inferer):
    base = ("import sqlalchemy\n"
            "class Repository:\n"
            "    def save(self, x, row):\n"
            "        raise NotImplementedError\n")
    subclass = ("from sqlalchemy.orm import Session\nfrom app.base import Repository\n"
                "class Middle(Repository):\n    pass\n"
                "class SqlRepository(Middle):\n"
                "    def save(self, session: Session, row) -> None:\n"
                "        session.add(row)\n")
    _, alone = _best(predict_source(base, inferer, "app/base.py"), "x")
    project = index_from_sources([("app/sql.py", subclass)])
    annotation, confidence = _best(predict_source(base, inferer, "app/base.py", project), "x")
    assert annotation == "sqlalchemy.orm.Session" and confidence >= 0.8
    assert alone < 0.5


def test_a_sure_prediction_is_a_declaration_for_the_parameters_it_is_passed_to_and_from(inferer):
    source = ("import sqlalchemy\n"
              "def save(s, row):\n"
              "    s.add(row)\n    s.flush()\n    s.refresh(row)\n    s.commit()\n"
              "def handler(x, row):\n    save(x, row)\n"
              "def tidy(y):\n    y.expunge_all()\n    save(y, None)\n")
    found = {p.parameter: p for p in predict_source(source, inferer, "app/jobs.py")}
    assert found["s"].candidates[0].annotation == "sqlalchemy.orm.Session"
    assert found["s"].confidence >= 0.95
    # x is only passed on: the sure `s` is its one piece of evidence
    assert found["x"].candidates[0].annotation == "sqlalchemy.orm.Session"
    assert found["x"].confidence >= 0.5


def test_a_project_class_that_fits_the_usage_as_well_is_a_rival(inferer):
    source = "import sqlalchemy\ndef render(container):\n    for op in container.ops:\n        print(op)\n"
    ops = "class OpContainer:\n    def __init__(self, ops=()):\n        self.ops = list(ops)\n"
    unrelated = "class Unrelated:\n    colour = 1\n"
    # Alone, `.ops` is only found on one sqlalchemy class: a sure, wrong guess.
    _, alone = _best(predict_source(source, inferer, "app/render.py"), "container")
    assert alone >= 0.95
    project = index_from_sources([("app/ops.py", ops), ("app/other.py", unrelated)])
    _, rival = _best(predict_source(source, inferer, "app/render.py", project), "container")
    assert rival < 0.5
    # A project class that does not fit changes nothing, and a Session usage stays a Session.
    project = index_from_sources([("app/other.py", unrelated)])
    _, unmoved = _best(predict_source(source, inferer, "app/render.py", project), "container")
    assert unmoved == alone
    session = "import sqlalchemy\ndef f(s, row):\n    s.add(row)\n    s.commit()\n    s.refresh(row)\n"
    plain = _best(predict_source(session, inferer, "app/f.py"), "s")
    assert _best(predict_source(session, inferer, "app/f.py", project), "s") == plain


def test_a_sure_answer_travels_along_a_chain_of_helpers(inferer):
    source = ("import sqlalchemy\n"
              "def load(s, row):\n    s.add(row)\n    s.flush()\n    s.refresh(row)\n"
              "    s.commit()\n    mid(s)\n"
              "def store(t, row):\n    t.add(row)\n    t.flush()\n    t.expunge(row)\n"
              "    t.commit()\n    mid(t)\n"
              "def mid(m):\n    leaf(m)\n"
              "def leaf(y):\n    print(y)\n")
    found = {p.parameter: p for p in predict_source(source, inferer, "app/jobs.py")}
    # two sure callers make `m` sure; `m` being sure is then the evidence for `leaf`'s `y`
    assert found["m"].candidates[0].annotation == "sqlalchemy.orm.Session"
    assert found["m"].confidence >= 0.95
    assert found["y"].candidates[0].annotation == "sqlalchemy.orm.Session"
    assert found["y"].confidence >= 0.8


def test_a_project_subclass_of_the_library_class_is_no_rival_to_it(inferer):
    source = ("import sqlalchemy\n"
              "def f(s, row):\n    s.add(row)\n    s.flush()\n    s.refresh(row)\n    s.commit()\n")
    plain = _best(predict_source(source, inferer, "app/f.py"), "s")
    assert plain[0] == "sqlalchemy.orm.Session" and plain[1] >= 0.9
    # an instance of the project's Session subclass is a Session: the usage is no less sure
    routing = ("from sqlalchemy.orm import Session\n"
               "class RoutingSession(Session):\n    def get_bind(self, mapper=None):\n        ...\n")
    project = index_from_sources([("app/routing.py", routing)])
    assert _best(predict_source(source, inferer, "app/f.py", project), "s") == plain


def test_what_a_helper_does_with_a_value_is_evidence_for_its_callers(inferer):
    helper_uses = ("import sqlalchemy\n"
                   "def helper(y, row):\n    y.add(row)\n    y.flush()\n    y.expire_all()\n"
                   "def outer(x, q):\n    x.execute(q)\n    helper(x, q)\n")
    helper_idle = helper_uses.replace("    y.add(row)\n    y.flush()\n    y.expire_all()\n",
                                      "    print(y, row)\n")
    with_uses = _best(predict_source(helper_uses, inferer, "app/jobs.py"), "x")
    without = _best(predict_source(helper_idle, inferer, "app/jobs.py"), "x")
    assert with_uses[0] == "sqlalchemy.orm.Session"
    assert with_uses[1] > without[1] + 0.1, (with_uses, without)


def test_a_method_and_its_override_in_the_module_share_their_uses_and_sure_answers(inferer):
    source = ("import sqlalchemy\n"
              "class Store:\n"
              "    def save(self, a, row):\n        raise NotImplementedError\n"
              "class SqlStore(Store):\n"
              "    def save(self, b, row):\n"
              "        b.add(row)\n        b.flush()\n        b.refresh(row)\n        b.commit()\n"
              "class Other:\n"
              "    def save(self, c, row):\n        raise NotImplementedError\n")
    found = {p.parameter: p for p in predict_source(source, inferer, "app/store.py")}
    assert found["b"].candidates[0].annotation == "sqlalchemy.orm.Session"
    assert found["b"].confidence >= 0.95
    # the stub takes the override's uses and its sure answer; an unrelated class's does not
    assert found["a"].candidates[0].annotation == "sqlalchemy.orm.Session"
    assert found["a"].confidence >= 0.95
    assert found["c"].confidence < 0.5


def test_a_constructor_of_the_library_declares_what_it_is_passed(inferer):
    source = "import sqlalchemy\ndef drop(x):\n    return sqlalchemy.schema.DropTable(x)\n"
    annotation, confidence = _best(predict_source(source, inferer, "app/ddl.py"), "x")
    assert annotation == "sqlalchemy.Table" and confidence >= 0.5


def test_a_value_passed_to_a_method_of_an_annotated_receiver(inferer):
    views = ("from sqlalchemy.orm import Session\n"
             "class Repo:\n    def save(self, session: Session, row) -> None: ...\n")
    source = ("import sqlalchemy\nfrom app.views import Repo\n"
              "def f(repo: Repo, x, row):\n    repo.save(x, row)\n")
    project = index_from_sources([("app/views.py", views)])
    annotation, confidence = _best(predict_source(source, inferer, "app/f.py", project), "x")
    assert annotation == "sqlalchemy.orm.Session" and confidence >= 0.5


def test_other_classes_methods_of_the_same_name_agree_on_a_position(inferer):
    views = ("from sqlalchemy.orm import Session\n"
             "class UserView:\n    def persist(self, db: Session, row) -> None: ...\n"
             "class OrderView:\n    def persist(self, conn: Session, row) -> None: ...\n")
    source = ("import sqlalchemy\nclass ItemView:\n"
              "    def persist(self, x, row):\n        print(x, row)\n")
    project = index_from_sources([("app/views.py", views)])
    annotation, confidence = _best(predict_source(source, inferer, "app/items.py", project), "x")
    assert annotation == "sqlalchemy.orm.Session" and confidence >= 0.5
    # when the other classes disagree, their signatures say nothing
    split = views.replace("conn: Session", "conn: str")
    project = index_from_sources([("app/views.py", split)])
    _, found = _best(predict_source(source, inferer, "app/items.py", project), "x")
    assert found < 0.5


def test_other_classes_methods_of_the_same_name_agree_on_a_keyword_only_parameter(inferer):
    protocol = ("from sqlalchemy.orm import Session\n"
                "class StoreProtocol:\n    def persist(self, row, *, db: Session) -> None: ...\n")
    source = ("import sqlalchemy\nclass Store:\n"
              "    def persist(self, row, *, db):\n        print(db, row)\n")
    project = index_from_sources([("app/protocols.py", protocol)])
    annotation, confidence = _best(predict_source(source, inferer, "app/store.py", project), "db")
    assert annotation == "sqlalchemy.orm.Session" and confidence >= 0.5
    # another keyword is another parameter
    other = protocol.replace("*, db: Session", "*, conn: Session")
    project = index_from_sources([("app/protocols.py", other)])
    _, found = _best(predict_source(source, inferer, "app/store.py", project), "db")
    assert found < 0.5


def test_the_projects_habit_for_a_parameter_name(inferer):
    habit = ("from sqlalchemy.orm import Session\n"
             + "".join(f"def f{i}(dbs: Session) -> None: ...\n" for i in range(3)))
    source = "import sqlalchemy\ndef g(dbs):\n    print(dbs)\n"
    project = index_from_sources([("app/a.py", habit)])
    annotation, confidence = _best(predict_source(source, inferer, "app/g.py", project), "dbs")
    assert annotation == "sqlalchemy.orm.Session" and confidence >= 0.5
    _, alone = _best(predict_source(source, inferer, "app/g.py"), "dbs")
    assert alone < 0.5


def test_a_value_passed_to_a_method_of_what_a_call_returns(inferer):
    admin = ("from app.views import Repo\n"
             "def find_repo(name: str) -> Repo: ...\n")
    views = ("from sqlalchemy.orm import Session\n"
             "class Repo:\n    def save(self, session: Session, row) -> None: ...\n")
    source = ("import sqlalchemy\nfrom app.admin import find_repo\n"
              "def f(x, row):\n    repo = find_repo('users')\n    repo.save(x, row)\n")
    project = index_from_sources([("app/admin.py", admin), ("app/views.py", views)])
    annotation, confidence = _best(predict_source(source, inferer, "app/f.py", project), "x")
    assert annotation == "sqlalchemy.orm.Session" and confidence >= 0.5
    # a library constructor's instance: `execute(statement: Executable)` bounds x, and users
    # mostly pass a Select
    library = ("import sqlalchemy\n"
               "def g(x, engine):\n    conn = sqlalchemy.Connection(engine)\n    conn.execute(x)\n")
    annotation, _ = _best(predict_source(library, inferer, "app/g.py"), "x")
    assert annotation == "sqlalchemy.Select"


def test_sibling_methods_that_declare_a_project_class_speak_against_the_library(inferer):
    # starlette-admin: every filter registry's `field` is the project's BaseField, and `session`
    # named alone would read as sqlalchemy's Session
    views = ("class Cursor:\n    def add(self, row) -> None: ...\n    def commit(self) -> None: ...\n"
             "class UserView:\n    def persist(self, session: Cursor, row) -> None: ...\n"
             "class OrderView:\n    def persist(self, session: Cursor, row) -> None: ...\n")
    source = ("import sqlalchemy\nclass ItemView:\n"
              "    def persist(self, session, row):\n        session.add(row)\n")
    alone = _best(predict_source(source, inferer, "app/items.py"), "session")
    assert alone[0] == "sqlalchemy.orm.Session"
    project = index_from_sources([("app/views.py", views)])
    _, found = _best(predict_source(source, inferer, "app/items.py", project), "session")
    assert found < 0.5 < alone[1]


def test_without_the_name_signal_the_projects_naming_habit_does_not_count():
    # the dev set's ablations switch signals off with a typed value
    habit = ("from sqlalchemy.orm import Session\n"
             + "".join(f"def f{i}(dbs: Session) -> None: ...\n" for i in range(3)))
    source = "import sqlalchemy\ndef g(dbs):\n    print(dbs)\n"
    project = index_from_sources([("app/a.py", habit)])
    blind = build_inferer([load_pack(PACKS / "sqlalchemy.pack")], None, Signals(name=False))
    _, confidence = _best(predict_source(source, blind, "app/g.py", project), "dbs")
    assert confidence < 0.5


def test_a_value_a_library_call_makes_bounds_the_parameter_from_below(inferer):
    # `literal(...)` makes a BindParameter; the parameter it is passed to may be declared as any
    # of its bases, so the caller alone makes no sure BindParameter.
    caller = ("from sqlalchemy import literal\nfrom app.expr import Distance\n"
              "def make(left):\n    operand = literal(1)\n    return Distance(left, operand)\n")
    source = ("import sqlalchemy\nclass Distance:\n    def __init__(self, left, right):\n"
              "        self.right = right\n")
    project = index_from_sources([("app/make.py", caller)])
    (found,) = [p for p in predict_source(source, inferer, "app/expr.py", project)
                if p.parameter == "right"]
    # Its share went to the bases as the priors weigh them: `ColumnElement` (no sure finding).
    assert found.candidates[0].annotation == "sqlalchemy.ColumnElement", found
    assert found.confidence < 0.9


def _project(tmp_path, files):
    """The (path, source) files written as a project under tmp_path and read back, with its index."""
    for path, source in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    read = sorted((str(p.relative_to(tmp_path)), p.read_text()) for p in tmp_path.rglob("*.py"))
    return read, index_from_sources(read)


def test_sqlalchemy_passes_a_compiles_function_its_construct_and_the_dialects_compiler(
        inferer, tmp_path):
    # The compiler's uses (`process`, `preparer`) fit SQLCompiler as well as the DDL compilers:
    # only what `@compiles` registers the function for says which one SQLAlchemy passes. The
    # decorator is re-exported by a module of the project, as alembic does.
    files, project = _project(tmp_path, {
        "app/compat.py": "from sqlalchemy.ext.compiler import compiles\n",
        "app/ddl.py": (
            "from sqlalchemy.schema import DDLElement\nfrom sqlalchemy.sql.expression import "
            "ColumnClause\nfrom app.compat import compiles\n"
            "class RenameThing(DDLElement):\n    def __init__(self, name):\n"
            "        self.name = name\n"
            "class Quoted(ColumnClause):\n    pass\n"
            "@compiles(RenameThing)\ndef visit_rename(element, compiler, **kw):\n"
            "    return compiler.preparer.quote(element.name) + compiler.process(element)\n"
            "@compiles(RenameThing, 'postgresql')\ndef visit_rename_pg(element, compiler, **kw):\n"
            "    return compiler.preparer.quote(element.name) + compiler.process(element)\n"
            "@compiles(Quoted)\ndef visit_quoted(element, compiler, **kw):\n"
            "    return compiler.preparer.quote(element.name) + compiler.process(element)\n"),
    })
    (_, source), = [f for f in files if f[0] == "app/ddl.py"]
    found = {(p.function, p.parameter): (p.candidates[0].annotation, p.confidence)
             for p in predict_source(source, inferer, "app/ddl.py", project)}
    assert found[("visit_rename", "compiler")][0] == "sqlalchemy.sql.compiler.DDLCompiler"
    assert found[("visit_rename_pg", "compiler")][0] == \
        "sqlalchemy.dialects.postgresql.base.PGDDLCompiler"
    assert found[("visit_quoted", "compiler")][0] == "sqlalchemy.sql.compiler.SQLCompiler"
    assert all(found[(f, "compiler")][1] >= 0.9
               for f in ("visit_rename", "visit_rename_pg", "visit_quoted")), found


def _repo_predictions(inferer, tmp_path, get_body):
    files, project = _project(tmp_path, {
        "app/repo.py": (
            "from sqlalchemy import Select, select\n"
            "class Repo:\n    statement: Select\n"
            "    def __init__(self, session, model):\n        self.session = session\n"
            "        self.statement = select(model)\n"
            "    def get(self, item_id, statement=None):\n" + get_body),
    })
    (_, source), = files
    return {p.parameter: (p.candidates[0].annotation, p.confidence)
            for p in predict_source(source, inferer, "app/repo.py", project)
            if p.function == "get"}


def test_a_local_that_holds_the_parameter_is_used_as_the_parameter(inferer, tmp_path):
    # `statement` itself is only tested against None: the local that holds it is used.
    found = _repo_predictions(inferer, tmp_path, (
        "        resolved = self.statement if statement is None else statement\n"
        "        resolved = resolved.where(item_id).order_by(item_id).limit(1)\n"
        "        return self.session.execute(resolved).scalar_one()\n"))
    assert found["statement"][0] == "sqlalchemy.Select", found
    assert found["statement"][1] >= 0.9, found


def test_an_annotated_attribute_that_stands_in_for_a_none_parameter(inferer, tmp_path):
    # Nothing is done with the value but passing it to an unknown receiver: the class attribute
    # that stands in for it where it is None says which class it is.
    found = _repo_predictions(inferer, tmp_path, (
        "        resolved = self.statement if statement is None else statement\n"
        "        return self.session.execute(resolved)\n"))
    assert found["statement"][0] == "sqlalchemy.Select", found
    assert found["statement"][1] >= 0.9, found


def test_a_local_bound_to_other_values_too_lends_no_uses():
    # `result` holds the stored value in one branch and another value in the other: what is done
    # with it says nothing about `value`. `stmt` is only ever made from the value: it does.
    source = ("class Route:\n"
              "    def set(self, value):\n        self._value = value\n"
              "    def resolve(self, request):\n"
              "        if self._value:\n            result = self._value\n"
              "        else:\n            result = request.make()\n"
              "        result.close()\n        return result\n"
              "def build(statement):\n    stmt = statement\n    stmt = apply(stmt)\n"
              "    return stmt.where(1)\n")
    _, sites = parse_profiles(source)
    profiles = {s.param.name.value: s.profile for s in sites}
    assert profiles["value"].members == frozenset(), profiles["value"]
    assert profiles["statement"].members == {"where"}, profiles["statement"]


def test_a_fallback_is_a_bound_not_the_class(inferer, tmp_path):
    # `self.constraint if constraint is None else constraint`: the parameter stands in for a
    # `Constraint`, so it is one of its subclasses as often as the class itself (rq declares
    # `pipeline: Pipeline` where the fallback is its `Redis` base). The name is the one
    # sqlalchemy's own code gives a `ForeignKeyConstraint`: the base is no longer sure.
    files, project = _project(tmp_path, {
        "app/render.py": (
            "from sqlalchemy.schema import Constraint\n"
            "class Render:\n    constraint: Constraint\n"
            "    def render(self, constraint=None):\n"
            "        target = self.constraint if constraint is None else constraint\n"
            "        return target.name, target.info\n"),
    })
    (_, source), = files
    (found,) = [p for p in predict_source(source, inferer, "app/render.py", project)
                if p.parameter == "constraint"]
    ranked = [c.annotation for c in found.candidates]
    assert ranked[0] == "sqlalchemy.Constraint", found
    assert "sqlalchemy.ForeignKeyConstraint" in ranked[:3], found
    assert found.confidence < 0.9, found


def test_a_value_only_passed_on_takes_the_class_it_is_passed_as(inferer):
    # `x` is used for nothing but being handed to `store(session: Session, ...)`: it is a
    # Session or a subclass (sqlalchemy's ShardedSession keeps a little), whatever else a
    # function with no uses could take. As a plain flow it took half the mass.
    source = ("import sqlalchemy\nfrom app.db import store\n"
              "def f(x, row):\n    store(x, row)\n")
    project = index_from_sources([("app/db.py", STORE)])
    annotation, confidence = _best(predict_source(source, inferer, "app/views.py", project), "x")
    assert annotation == "sqlalchemy.orm.Session" and confidence >= 0.85


def test_a_bound_spreads_as_the_exact_declarations_weigh_its_classes(inferer, tmp_path):
    # `statement` goes to `Session.execute(statement: Executable)`, a bound that every kind of
    # statement fits; the caller passes a `Select`, which is the one the bound's share goes to.
    files, project = _project(tmp_path, {
        "app/repo.py": (
            "from sqlalchemy.orm import Session\n"
            "def run(session: Session, statement):\n"
            "    return session.execute(statement)\n"),
        "app/main.py": (
            "from sqlalchemy import Select\nfrom sqlalchemy.orm import Session\n"
            "from app.repo import run\n"
            "def main(session: Session, stmt: Select):\n    return run(session, stmt)\n"),
    })
    (_, source), = [f for f in files if f[0] == "app/repo.py"]
    (found,) = [p for p in predict_source(source, inferer, "app/repo.py", project)
                if p.parameter == "statement"]
    assert found.candidates[0].annotation == "sqlalchemy.Select", found
    assert found.confidence >= 0.9, found


def test_a_compiles_function_relaying_its_compiler_to_a_generic_helper_stays_unsure(
        inferer, tmp_path):
    # SQLAlchemy passes the dialect's SQL compiler; the project declares compilers as
    # `Compiled` where it relays them, and may annotate this one either way (alembic's
    # `_exec_drop_col_constraint` takes an `MSSQLCompiler`): the helper's declaration weighs
    # against `@compiles`, it is not a bound that agrees with it.
    files, project = _project(tmp_path, {
        "app/ddl.py": (
            "from sqlalchemy.sql.compiler import Compiled\n"
            "from sqlalchemy.sql.expression import Executable, ClauseElement\n"
            "from sqlalchemy.ext.compiler import compiles\n"
            "class DropThing(Executable, ClauseElement):\n    def __init__(self, name):\n"
            "        self.name = name\n"
            "def quoted(compiler: Compiled, name: str) -> str:\n"
            "    return name\n"
            "@compiles(DropThing, 'mssql')\ndef visit_drop(element, compiler, **kw):\n"
            "    return quoted(compiler, element.name)\n"),
    })
    (_, source), = files
    (found,) = [p for p in predict_source(source, inferer, "app/ddl.py", project)
                if p.parameter == "compiler"]
    assert found.candidates[0].annotation == "sqlalchemy.sql.compiler.SQLCompiler", found
    assert found.confidence < 0.9, found


def test_a_value_relayed_to_a_sure_parameter_of_the_module(inferer):
    # `save` only hands `x` on to `store`, whose unannotated `session` the project's annotated
    # caller makes sure of (its attribute read passes nothing on to `x`): that sure class
    # bounds `x` as an annotation would. As a plain flow it took half the mass.
    source = ("import sqlalchemy\n"
              "def store(session, row):\n    return session.bind, row\n"
              "def save(x, row):\n    return store(x, row)\n")
    caller = ("from sqlalchemy.orm import Session\nfrom app.views import store\n"
              "def main(s: Session, row):\n    return store(s, row)\n")
    project = index_from_sources([("app/main.py", caller)])
    found = {p.parameter: (p.candidates[0].annotation, p.confidence)
             for p in predict_source(source, inferer, "app/views.py", project)}
    assert found["session"][0] == "sqlalchemy.orm.Session" and found["session"][1] >= 0.95, found
    assert found["x"][0] == "sqlalchemy.orm.Session" and found["x"][1] >= 0.85, found


def test_the_projects_own_annotations_choose_between_a_class_and_its_subclass(inferer):
    # `x.c` fits Table and its base TableClause alike; the pack saw Table more. A project that
    # annotates TableClause (and reads `.c` through it) more than Table tips the balance.
    source = "import sqlalchemy\ndef f(x):\n    return x.c.id == x.c.name\n"

    def scores(project):
        (found,) = predict_source(source, inferer, "app/views.py", project)
        return {c.annotation.rsplit(".", 1)[-1]: c.score for c in found.candidates}

    alone = scores(None)
    assert alone["Table"] > alone["TableClause"]
    both = ("from sqlalchemy import Table, TableClause\n"
            + "".join(f"def g{i}(t: TableClause):\n    return t.c\n" for i in range(12))
            + "def h(t: Table):\n    return t.name\n")
    taught = scores(index_from_sources([("app/lib.py", both)]))
    assert taught["TableClause"] > taught["Table"]
    # A class the project uses alone says nothing about this parameter: nothing moves.
    one = "from sqlalchemy import Table\n" + "def h(t: Table):\n    return t.c\n" * 12
    assert scores(index_from_sources([("app/lib.py", one)])) == alone


def test_what_the_constructor_stores_on_an_unannotated_attribute_stands_in_for_it(
        inferer, tmp_path):
    # No class-level annotation: `self.statement` is what `__init__` stores there, a select()
    # where its own parameter is None.
    files, project = _project(tmp_path, {
        "app/repo.py": (
            "from sqlalchemy import select\n"
            "class Repo:\n"
            "    def __init__(self, session, model, statement=None):\n"
            "        self.session = session\n"
            "        self.statement = select(model) if statement is None else statement\n"
            "    def get(self, item_id, statement=None):\n"
            "        resolved = self.statement if statement is None else statement\n"
            "        return self.session.execute(resolved)\n"),
    })
    (_, source), = files
    found = {p.parameter: (p.candidates[0].annotation, p.confidence)
             for p in predict_source(source, inferer, "app/repo.py", project)
             if p.function == "get"}
    assert found["statement"][0] == "sqlalchemy.Select", found
    assert found["statement"][1] >= 0.9, found


def test_a_keyword_only_parameter_takes_the_sure_answer_of_a_same_named_method(inferer):
    # A protocol's stub and the class that follows it without subclassing it: the same keyword
    # of the same method. By position, an unrelated class's method would not (test above).
    source = ("import sqlalchemy\n"
              "class StoreProtocol:\n"
              "    def save(self, row, *, b=None):\n        ...\n"
              "class SqlStore:\n"
              "    def save(self, row, *, b=None):\n"
              "        b.add(row)\n        b.flush()\n        b.refresh(row)\n        b.commit()\n")
    found = {p.line: p for p in predict_source(source, inferer, "app/store.py")
             if p.parameter == "b"}
    assert found[6].confidence >= 0.95  # SqlStore's, from its uses
    assert found[3].candidates[0].annotation == "sqlalchemy.orm.Session"
    assert found[3].confidence >= 0.95


def test_sqlalchemy_passes_an_event_listener_what_the_events_method_declares(inferer, tmp_path):
    # Registered in another module, by the event's name: SQLAlchemy calls it as
    # `SessionEvents.before_flush(session, flush_context, instances)` is declared.
    files, project = _project(tmp_path, {
        "app/hooks.py": (
            "import sqlalchemy\n"
            "class Hooks:\n"
            "    @staticmethod\n"
            "    def before_flush(session, context, instances):\n"
            "        print(session, context, instances)\n"
            "    @staticmethod\n"
            "    def unregistered(session):\n"
            "        print(session)\n"),
        "app/setup.py": (
            "from sqlalchemy import event\nfrom app.hooks import Hooks\n"
            "def install(maker):\n    event.listen(maker, 'before_flush', Hooks.before_flush)\n"),
    })
    (_, source), = [f for f in files if f[0] == "app/hooks.py"]
    found = {(p.line, p.parameter): (p.candidates[0].annotation if p.candidates else None,
                                     p.confidence)
             for p in predict_source(source, inferer, "app/hooks.py", project)}
    assert found[(4, "session")][0] == "sqlalchemy.orm.Session", found
    assert found[(4, "session")][1] >= 0.9, found
    assert found[(4, "context")][0] == "sqlalchemy.orm.UOWTransaction", found
    assert found[(4, "instances")][1] < 0.5, found  # the event's method does not annotate it
    assert found[(7, "session")][1] < 0.9, found  # not registered for an event


def test_a_constructor_overrides_its_bases_by_name_not_by_position(inferer):
    base = ("from sqlalchemy import Engine\n"
            "class Job:\n    def __init__(self, name: str, engine: Engine) -> None: ...\n")
    source = ("import sqlalchemy\nfrom app.base import Job\n"
              "class Copy(Job):\n"
              "    def __init__(self, name, table_name, engine):\n"
              "        super().__init__(name, engine)\n        print(table_name)\n")
    project = index_from_sources([("app/base.py", base)])
    found = {p.parameter: (p.candidates[0].annotation if p.candidates else None, p.confidence)
             for p in predict_source(source, inferer, "app/copy.py", project)}
    assert found["engine"][0] == "sqlalchemy.Engine" and found["engine"][1] >= 0.9, found
    # the base's `engine` is at the position `table_name` has here: no declaration for it
    assert found["table_name"][1] < 0.5, found


def test_a_route_endpoint_is_sure_of_the_request_starlette_passes_it():
    # What the framework passes is no caller's guess: the endpoint is sure enough (LINKED) to
    # declare the helpers it passes the request on to.
    inferer = build_inferer([load_pack(PACKS / "fastapi.pack")], None)
    source = ("from starlette.applications import Starlette\nfrom starlette.routing import Route\n"
              "async def home(p):\n    print(p)\n"  # a name that says nothing
              "app = Starlette(routes=[Route('/', home)])\n")
    project = index_from_sources([("app/main.py", source)])
    annotation, confidence = _best(predict_source(source, inferer, "app/main.py", project), "p")
    assert annotation in ("fastapi.Request", "starlette.requests.Request")
    assert confidence >= 0.95


def test_callers_through_a_base_class_declare_what_its_overrides_take(inferer):
    # `keep` passes a Session to `Store.save` through a receiver declared as the base: whichever
    # subclass the value is, its `save` runs, so each override is given that Session.
    base = ("from sqlalchemy.orm import Session\n"
            "class Store:\n    def save(self, target, row) -> None: ...\n"
            "def keep(store: Store, session: Session, row) -> None:\n"
            "    store.save(session, row)\n")
    source = ("import sqlalchemy\nfrom app.base import Store\n"
              "class Mirror(Store):\n    def save(self, t, row):\n        print(t, row)\n"
              "class Other:\n    def save(self, u, row):\n        print(u, row)\n")
    project = index_from_sources([("app/base.py", base)])
    found = {p.parameter: p for p in predict_source(source, inferer, "app/mirror.py", project)}
    assert found["t"].candidates[0].annotation == "sqlalchemy.orm.Session"
    assert found["t"].confidence >= 0.9
    assert found["u"].confidence < 0.5  # no subclass of Store: not called through it


def test_a_sure_value_passed_through_a_base_in_the_module_reaches_each_override(inferer):
    # `run`'s session is sure from its uses; it is passed to `Step.apply` through the base, so
    # `Copy.apply` and `Deep.apply` (below `Copy`) take it too, though neither uses it.
    source = ("import sqlalchemy\n"
              "class Step:\n    def apply(self, a):\n        raise NotImplementedError\n"
              "class Copy(Step):\n    def apply(self, b):\n        print(b)\n"
              "class Deep(Copy):\n    def apply(self, c):\n        print(c)\n"
              "def run(step: Step, s, row):\n"
              "    s.add(row)\n    s.flush()\n    s.refresh(row)\n    s.commit()\n"
              "    step.apply(s)\n")
    found = {p.parameter: p for p in predict_source(source, inferer, "app/steps.py")}
    assert found["s"].confidence >= 0.95
    for name in ("a", "b", "c"):
        assert found[name].candidates[0].annotation == "sqlalchemy.orm.Session", name
        assert found[name].confidence >= 0.9, name


def test_where_its_name_says_nothing_the_attribute_it_is_stored_as_speaks(inferer):
    # `execute` fits a Connection, a Session and their async twins; the packs never saw `p`
    # named, but the code stores it as its `connection`.
    stored = ("import sqlalchemy\nclass Repo:\n    def __init__(self, p):\n"
              "        self.connection = p\n        p.execute(1)\n")
    annotation, confidence = _best(predict_source(stored, inferer, "app/repo.py"), "p")
    assert annotation == "sqlalchemy.Connection" and confidence >= 0.9
    unstored = stored.replace("self.connection = p", "print(p)")
    assert _best(predict_source(unstored, inferer, "app/repo.py"), "p")[1] < 0.9


def test_an_unseen_compound_name_speaks_by_its_head_word_but_a_flag_does_not(inferer):
    # `.schema` fits a Table as well as a MetaData; the packs never saw `namespace_metadata`
    # named, but its last word is `metadata`. `is_metadata` names a flag, not a MetaData.
    source = ("import sqlalchemy\ndef render(namespace_metadata, is_metadata):\n"
              "    print(namespace_metadata.schema, is_metadata.schema)\n")
    found = predict_source(source, inferer, "app/render.py")
    assert _best(found, "namespace_metadata")[0] == "sqlalchemy.MetaData"
    assert _best(found, "namespace_metadata")[1] >= 0.9
    assert _best(found, "is_metadata")[1] < 0.5
