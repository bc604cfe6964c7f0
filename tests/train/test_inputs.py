"""Hand-written pack inputs: policies and glossary TOML, and the shipped sources themselves."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import libcst as cst
import pytest

from remora_review.errors import UserError
from remora_review.retrieval.base import Document
from remora_review.train.fine_tune import batches, training_pairs
from remora_review.train.inputs import load_glossary, load_policies, template_files

SOURCES = Path(__file__).resolve().parents[2] / "packs" / "sources"


def test_acme_policy() -> None:
    (policy,) = load_policies(SOURCES / "acme" / "policies.toml")
    assert policy.code == "ACME001"
    assert set(policy.calls) == {"logging.Logger.info", "logging.info"}
    assert policy.replace_with == "acme.audit.AuditLogger.log_transaction"
    assert policy.set_keywords == {"compliance": "True"}
    assert policy.requires_imports == ()
    assert 0 < policy.context_threshold < 1 and len(policy.context_examples) >= 8


def test_acme_glossary() -> None:
    glossary = load_glossary(SOURCES / "acme" / "glossary.toml")
    assert glossary["The Gizmo"].startswith("Microservice B")
    assert len(glossary) >= 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[policy]\ncode = 1", "not valid TOML"),
        ("[[rule]]\ncode = 'X1'", "unknown top-level key 'rule'"),
        ("[[policy]]\ncode = 'X1'\nmessage = 'm'", "policy X1: calls: Field required"),
        ("[[policy]]\ncode = 'X1'\nmessage = 'm'\ncalls = ['a']\ncolour = 'red'", "colour"),
        ("[[policy]]\ncode='X1'\nmessage='m'\ncalls=['a']\n[[policy]]\ncode='X1'\nmessage='m'\n"
         "calls=['b']", "appears more than once"),
    ],
)
def test_bad_policies(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policies.toml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        load_policies(path)


def test_bad_glossary_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "glossary.toml"
    path.write_text('"The Gizmo" = 3\n')
    with pytest.raises(UserError, match="must map to a non-empty string"):
        load_glossary(path)
    path.write_text('[glossary]\n"The Gizmo" = "Microservice B"\n')
    assert load_glossary(path) == {"The Gizmo": "Microservice B"}
    with pytest.raises(UserError, match="policies file not found"):
        load_policies(tmp_path / "nope.toml")
    with pytest.raises(UserError, match=r"no \.pym files"):
        template_files(tmp_path)


def test_router_template_is_grail_style_python() -> None:
    (path,) = template_files(SOURCES / "fastapi" / "templates")
    module = cst.parse_module(path.read_text("utf-8"))
    imports = [s.body[0] for s in module.body if isinstance(s, cst.SimpleStatementLine)
               and isinstance(s.body[0], cst.ImportFrom)]
    assert any(cst.Module([]).code_for_node(i) == "from grail import Input, external"
               for i in imports)
    externals = {f.name.value for f in module.body if isinstance(f, cst.FunctionDef)
                 and any(cst.Module([]).code_for_node(d.decorator) == "external"
                         for d in f.decorators)}
    assert externals == {"retrieve"}  # the only host call it makes; it fills its own text
    last = module.body[-1]
    assert isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[0], cst.Expr)
    assert isinstance(last.body[0].value, cst.Dict)
    rendered = _run_template(module, {"resource": "users", "model": "User"})
    (text,) = rendered.values()
    assert list(rendered) == ["app/routers/users.py"]
    module = cst.parse_module(text)  # the file it writes is Python
    assert "from app.models import User" in text  # found by retrieval
    assert "router = APIRouter(prefix=\"/users\"" in text
    assert '@router.get("/{user_id}", response_model=User)' in text
    assert "{{" not in text
    assert len([f for f in module.body if isinstance(f, cst.FunctionDef)]) == 5


def _run_template(module: cst.Module, inputs: dict[str, str]) -> object:
    """Run a `.pym` template as its host does, with CPython for the sandbox: the declarations
    stripped, each `Input` bound to its value (else its default), the externals supplied."""
    body, bound = [], dict(inputs)
    for statement in module.body:
        line = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
        if isinstance(line, cst.ImportFrom) or isinstance(statement, cst.FunctionDef):
            continue  # `from grail import ...` and the @external declarations
        if isinstance(line, cst.AnnAssign) and isinstance(line.value, cst.Call):
            name = line.target.value  # type: ignore[attr-defined]
            default = next((a.value for a in line.value.args if a.keyword), None)
            if name not in bound and default is not None:
                bound[name] = ast.literal_eval(cst.Module([]).code_for_node(default))
            continue
        body.append(statement)
    *rest, last = body
    result = cst.parse_statement("__result__ = 0").with_changes(
        body=[cst.Assign([cst.AssignTarget(cst.Name("__result__"))], last.body[0].value)])  # type: ignore[attr-defined]
    code = cst.Module([*rest, result]).code

    async def retrieve(query: str) -> list[dict[str, str]]:
        assert "User" in query
        return [{"label": "app.models.User"}, {"label": "other.Thing"}]

    namespace: dict[str, object] = {**bound, "retrieve": retrieve}
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    pending = eval(compile(code, "router.pym", "exec", flags=flags), namespace)
    if pending is not None:
        asyncio.run(pending)
    return namespace["__result__"]


def test_training_batches_never_repeat_a_positive() -> None:
    docs = [Document(f"api:{c}", "api", f"class {c}", c) for c in "ABC"]
    docs += [Document(f"usage:{c}:{i}", "usage", f"use {c} {i}", c) for c in "ABC" for i in range(5)]
    pairs = training_pairs(docs, max_pairs=100, seed=1)
    assert len(pairs) == 15
    plan = batches(pairs, size=4, seed=1)
    assert plan == batches(pairs, size=4, seed=1)
    for batch in plan:
        positives = [p for _, p in batch]
        assert len(positives) == len(set(positives)) >= 2
    assert sum(len(b) for b in plan) == 15
    assert len(training_pairs(docs, max_pairs=6, seed=1)) == 6
