"""DefPositions gives the places libcst's PositionProvider gives, for every function, its name and
its parameters' names, on real code and on the layouts where the two parsers could part ways."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import libcst.metadata as meta
import pytest

import remora_review
from remora_review.pysource.def_positions import DefPositions
from remora_review.pysource.wrapper import wrap

TRICKY = {
    "decorated and async": "@a\n@b(1)\nasync def f(x, /, y=2, *args, z, **kw):\n    return x\n",
    "nested in every block": (
        "class A:\n    def m(self):\n        def inner(q): pass\n        return inner\n"
        "if x:\n    def f(a): pass\nelif y:\n    def g(b): pass\nelse:\n    def h(c): pass\n"
        "try:\n    def t1(a): pass\nexcept E:\n    def t2(a): pass\nelse:\n    def t3(a): pass\n"
        "finally:\n    def t4(a): pass\n"
        "for i in x:\n    def l1(a): pass\nelse:\n    def l2(a): pass\n"
        "while x:\n    def w1(a): pass\nwith c as d:\n    def w2(a): pass\n"
        "match p:\n    case 1:\n        def m1(a): pass\n"
    ),
    "one-liners and semicolons": "def f(a): return a;\ndef g(b): x = 1; return b  # c\n",
    "trailing comments in the body": "def f(a):\n    return a\n    # a comment\n\n# another\nx = 1\n",
    "non-ASCII before the names": "def f(é, b='ü'):  # ü\n    return 'ö'\ndef g(a='é', z=1): ...\n",
    "continuations": "def \\\n  f(*\n    args,\n  **kw\n):\n    pass\nasync \\\n def g(a): pass\n",
    "tabs and CRLF": "def f(a):\r\n\tif a:\r\n\t\tdef g(b):\r\n\t\t\treturn b\r\n\treturn a\r\n",
    "no functions": "x = 1\n",
    "a lambda is not a function here": "f = lambda a, b: a\ndef g(c=lambda d: d): pass\n",
}


def _compare(text: str) -> int:
    wrapper = meta.MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
    expected = wrapper.resolve(meta.PositionProvider)
    got = wrapper.resolve(DefPositions)
    functions = [n for n in expected if isinstance(n, cst.FunctionDef)]
    nodes = [*functions, *(f.name for f in functions),
             *(p.name for f in functions for p in _params(f.params))]
    assert {n: got[n] for n in nodes} == {n: expected[n] for n in nodes}
    assert set(got) == set(nodes)
    return len(functions)


def _params(params: cst.Parameters) -> list[cst.Param]:
    star = [params.star_arg] if isinstance(params.star_arg, cst.Param) else []
    kwarg = [params.star_kwarg] if params.star_kwarg else []
    return [*params.posonly_params, *params.params, *star, *params.kwonly_params, *kwarg]


@pytest.mark.parametrize("text", TRICKY.values(), ids=TRICKY.keys())
def test_the_places_equal_libcsts_on_tricky_layouts(text: str) -> None:
    _compare(text)


def test_the_places_equal_libcsts_on_real_code() -> None:
    package = Path(remora_review.__file__).parent
    libcst_package = Path(cst.__file__).parent
    files = [*sorted(package.rglob("*.py")), *sorted(libcst_package.glob("_nodes/*.py"))]
    assert sum(_compare(p.read_text("utf-8")) for p in files) > 1000


def test_code_only_libcst_accepts_still_gets_its_places() -> None:
    # PEP 695 type parameters: libcst parses them, Python 3.11's ast does not.
    text = "def f[T](a: T, b):\n    return a\n"
    with pytest.raises(SyntaxError):
        ast.parse(text)
    assert _compare(text) == 1


def test_a_wrapper_that_keeps_its_text_gives_the_same_places_without_generating_code(
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = TRICKY["non-ASCII before the names"] + TRICKY["tabs and CRLF"]
    expected = dict(wrap(cst.parse_module(text)).resolve(DefPositions))
    module = cst.parse_module(text)
    generated: list[cst.Module] = []
    monkeypatch.setattr(cst.Module, "code", property(lambda m: generated.append(m) or text))
    got = wrap(module, text).resolve(DefPositions)
    assert list(got.values()) == list(expected.values())
    assert len(got) == 14  # four functions, their names and six parameters' names
    assert generated == []
