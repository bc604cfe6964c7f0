"""Finding.fingerprint: pack, code, path, the flagged code and its neighbours; no line numbers."""

from __future__ import annotations

from remora_review.findings import Finding

CODE = "import sqlalchemy\n\n\ndef save(s, user):\n    s.add(user)\n    s.commit()\n"


def _finding(line: int = 4, path: str = "a.py", code: str = "RR101", pack: str | None = "sqlalchemy",
             parameter: str = "s") -> Finding:
    return Finding(path, line, 9, line, 10, code, "m", pack=pack, data={"parameter": parameter})


def test_moving_reindenting_or_rebasing_keeps_the_fingerprint() -> None:
    fp = _finding().fingerprint(CODE)
    moved = "# a new header\nimport os\n" + CODE  # two lines above: line 4 becomes 6
    assert _finding(6).fingerprint(moved) == fp
    respaced = CODE.replace("def save(s, user):", "def  save(s,  user):")
    assert _finding().fingerprint(respaced) == fp
    spaced = CODE.replace("\n\n\n", "\n\n\n\n")  # blank lines are no context
    assert _finding(5).fingerprint(spaced) == fp


def test_what_the_finding_is_and_the_code_around_it_change_it() -> None:
    fp = _finding().fingerprint(CODE)
    assert _finding(path="b.py").fingerprint(CODE) != fp
    assert _finding(code="RR102").fingerprint(CODE) != fp
    assert _finding(pack="other").fingerprint(CODE) != fp
    assert _finding(parameter="user").fingerprint(CODE) != fp
    assert _finding().fingerprint(CODE.replace("def save(s, user)", "def store(s, user)")) != fp
    assert _finding().fingerprint(CODE.replace("s.add(user)", "s.merge(user)")) != fp
