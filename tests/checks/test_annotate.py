"""The type-hint fix's import goes where isort puts it: each fixed file passes ruff's `I` rules
in a project with ruff configured, and nothing else in the file moves."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from remora_review.checks.annotate import ModuleImports
from remora_review.checks.import_style import Section, read_import_style
from remora_review.fixes import apply_edits

RUFF = Path(sys.executable).parent / "ruff"

PYPROJECT = """\
[project]
name = "shop"
version = "0"

[tool.ruff]
line-length = 60

[tool.ruff.lint]
select = ["I"]
"""


def _project(tmp_path: Path, pyproject: str = PYPROJECT) -> Path:
    (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / "shop").mkdir()  # the project's own package: first-party by the layout
    (tmp_path / "shop" / "__init__.py").write_text("")
    return tmp_path


def _ruff_clean(root: Path, text: str) -> str:
    path = root / "shop" / "users.py"
    path.write_text(text)
    proc = subprocess.run([str(RUFF), "check", "--no-cache", "--select", "I", str(path)],
                          cwd=root, capture_output=True, text=True)
    return "" if proc.returncode == 0 else proc.stdout


def _fixed(root: Path, source: str, qualified: str) -> str:
    style = read_import_style(root)
    first_party = style.section(qualified) == Section.FIRST_PARTY
    edits = ModuleImports(source, style).edits(qualified, first_party)
    assert edits is not None
    return apply_edits(source, edits)


CASES = {
    "new third-party section between stdlib and first-party": (
        """\
        \"\"\"Users.\"\"\"

        import logging

        from shop.models import User


        def f(s):
            pass
        """,
        """\
        \"\"\"Users.\"\"\"

        import logging

        from sqlalchemy.orm import Session

        from shop.models import User


        def f(s):
            pass
        """),
    "sorted into the third-party section": (
        """\
        import os

        import httpx
        import sqlalchemy
        from pydantic import BaseModel
        from sqlalchemy import select
        from starlette.requests import Request

        from shop.models import User
        """,
        """\
        import os

        import httpx
        import sqlalchemy
        from pydantic import BaseModel
        from sqlalchemy import select
        from sqlalchemy.orm import Session
        from starlette.requests import Request

        from shop.models import User
        """),
    "joined to an import of the same module": (
        """\
        from sqlalchemy.orm import Query, relationship

        from shop.models import User
        """,
        """\
        from sqlalchemy.orm import Query, Session, relationship

        from shop.models import User
        """),
    "joined to a parenthesised import, one name a line": (
        """\
        from sqlalchemy.orm import (
            DeclarativeBase,
            Mapped,
            relationship,
        )
        """,
        """\
        from sqlalchemy.orm import (
            DeclarativeBase,
            Mapped,
            Session,
            relationship,
        )
        """),
    "joined last to a parenthesised import": (
        """\
        from sqlalchemy.orm import (
            DeclarativeBase,
            Mapped,
            MappedColumn,
        )
        """,
        """\
        from sqlalchemy.orm import (
            DeclarativeBase,
            Mapped,
            MappedColumn,
            Session,
        )
        """),
    "a join past the line length wraps as ruff does": (
        """\
        from sqlalchemy.orm import Mapped, Query, mapped_column
        """,
        """\
        from sqlalchemy.orm import (
            Mapped,
            Query,
            Session,
            mapped_column,
        )
        """),
    "the first import of a module, after its docstring": (
        """\
        \"\"\"Users.\"\"\"

        # The service layer.
        def f(s):
            pass
        """,
        """\
        \"\"\"Users.\"\"\"

        from sqlalchemy.orm import Session


        # The service layer.
        def f(s):
            pass
        """),
    "the first import of a module with no docstring": (
        """\
        x = 1
        """,
        """\
        from sqlalchemy.orm import Session

        x = 1
        """),
    "before a first-party section, comments stay with their import": (
        """\
        # our models
        from shop.models import User
        """,
        """\
        from sqlalchemy.orm import Session

        # our models
        from shop.models import User
        """),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_import_goes_where_ruff_sorts_it(case: str, tmp_path: Path) -> None:
    root = _project(tmp_path)
    before, after = (textwrap.dedent(t) for t in CASES[case])
    assert _ruff_clean(root, before) == ""  # the project's file was clean before the fix
    fixed = _fixed(root, before, "sqlalchemy.orm.Session")
    assert fixed == after
    assert _ruff_clean(root, fixed) == ""


def test_known_first_party_from_the_settings_decides_the_section(tmp_path: Path) -> None:
    # `billing` is no directory of the repository: only the setting makes it first-party
    settings = PYPROJECT + '\n[tool.ruff.lint.isort]\nknown-first-party = ["billing"]\n'
    root = _project(tmp_path, settings)
    before = "import os\n\nfrom billing.models import Invoice\n"
    fixed = _fixed(root, before, "sqlalchemy.orm.Session")
    assert fixed == ("import os\n\nfrom sqlalchemy.orm import Session\n\n"
                     "from billing.models import Invoice\n")
    assert _ruff_clean(root, fixed) == ""
    # without the setting, ruff (and the fix) count billing as third-party
    (tmp_path / "plain").mkdir()
    root = _project(tmp_path / "plain")
    assert _fixed(root, "import os\n\nimport billing\n", "sqlalchemy.orm.Session") == (
        "import os\n\nimport billing\nfrom sqlalchemy.orm import Session\n")


def test_a_first_party_class_is_imported_for_type_checking_only(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = "import os\n\nimport httpx\n\n\ndef f(u):\n    pass\n"
    fixed = _fixed(root, before, "shop.models.User")
    assert fixed == (
        "from __future__ import annotations\n\nimport os\nfrom typing import TYPE_CHECKING\n\n"
        "import httpx\n\nif TYPE_CHECKING:\n    from shop.models import User\n\n\n"
        "def f(u):\n    pass\n")
    assert _ruff_clean(root, fixed) == ""
    # an existing block takes the import at its sorted place
    before = ("from __future__ import annotations\n\nfrom typing import TYPE_CHECKING\n\n"
              "if TYPE_CHECKING:\n    from shop.cart import Cart\n    from shop.stock import Item\n")
    fixed = _fixed(root, before, "shop.models.User")
    assert fixed == before.replace("    from shop.stock", "    from shop.models import User\n"
                                                          "    from shop.stock")
    assert _ruff_clean(root, fixed) == ""


def test_an_imported_name_needs_no_edit_and_odd_layouts_get_none(tmp_path: Path) -> None:
    style = read_import_style(_project(tmp_path))
    assert ModuleImports("from sqlalchemy.orm import Session\n", style).edits(
        "sqlalchemy.orm.Session", False) == ()
    assert ModuleImports("import os; x = 1\n", style).edits("sqlalchemy.orm.Session", False) is None
    assert ModuleImports("def f(:\n", style).edits("sqlalchemy.orm.Session", False) is None


def test_a_file_without_a_final_newline(tmp_path: Path) -> None:
    root = _project(tmp_path)
    fixed = _fixed(root, "import os", "sqlalchemy.orm.Session")
    assert fixed == "import os\n\nfrom sqlalchemy.orm import Session"
