from remora_review.activation import (
    PackTrigger,
    activations,
    active_packs,
    neighbour_paths,
    project_imports,
)

TRIGGERS = [
    PackTrigger("sqlalchemy", "library", ("sqlalchemy",)),
    PackTrigger("fastapi", "library", ("fastapi", "starlette")),
    PackTrigger("acme", "company", ()),
]


def test_library_pack_activates_by_import_only():
    assert active_packs("from sqlalchemy.orm import Session\n", TRIGGERS, ()) == ("sqlalchemy",)
    assert active_packs("from starlette.requests import Request\n", TRIGGERS, ()) == ("fastapi",)
    assert active_packs("import sqlalchemy_utils\n", TRIGGERS, ()) == ()
    assert active_packs("x = 1\n", TRIGGERS, ()) == ()


def test_company_pack_active_everywhere_when_listed():
    assert active_packs("x = 1\n", TRIGGERS, ("acme",)) == ("acme",)
    assert active_packs("x = 1\n", TRIGGERS, ()) == ()


def test_project_imports_resolve_relative_imports_and_imported_names():
    source = ("from . import a, b\nfrom ..db import (Base,\n    engine)\n"
              "import os\nfrom pkg.util import helper  # comment\n")
    assert project_imports(source, "pkg.sub.mod", False) == {
        "pkg.sub", "pkg.sub.a", "pkg.sub.b", "pkg.db", "pkg.db.Base", "pkg.db.engine", "os",
        "pkg.util", "pkg.util.helper"}
    # in a package's __init__, `.` is the package itself
    assert "pkg.sub.a" in project_imports("from .a import x\n", "pkg.sub", True)


def test_neighbour_paths_cover_both_layouts_and_leave_out_the_file_itself():
    paths = neighbour_paths("from .models import User\nfrom . import service\n",
                            "src/app/service.py")
    assert "app/models.py" in paths and "src/app/models.py" in paths
    assert "src/app/models/__init__.py" in paths
    assert "src/app/service.py" not in paths
    assert neighbour_paths("import os\n", "README.md") == ()


def test_a_library_imported_by_a_neighbour_activates_its_pack():
    neighbours = ["from sqlalchemy.orm import DeclarativeBase\n", "import json\n"]
    assert active_packs("from .models import Base\n", TRIGGERS, (), neighbours) == ("sqlalchemy",)
    assert active_packs("from .models import Base\n", TRIGGERS, (), ["import json\n"]) == ()


def test_activations_read_every_files_neighbours_in_one_call_a_hop():
    files = [("app/service.py", "from .models import Base\n"),
             ("app/views.py", "from sqlalchemy import select\nfrom .models import Base\n"),
             ("app/util.py", "import json\n")]
    texts = {"app/models.py": "from sqlalchemy.orm import DeclarativeBase\n"}
    calls = []

    def read(paths):
        calls.append(paths)
        return {p: texts[p] for p in paths if p in texts}

    assert activations(files, TRIGGERS, (), read) == [("sqlalchemy",), ("sqlalchemy",), ()]
    # one read for all a hop; views.py asks too, since fastapi is not active for it yet
    assert len(calls) == 2 and "app/models.py" in calls[0]
    assert activations(files, TRIGGERS, ()) == [(), ("sqlalchemy",), ()]  # follow-imports off


def test_follow_imports_reads_the_modules_a_neighbour_imports_too():
    # manager.py imports only its package; the package's __init__ imports the module using fastapi
    files = [("users/manager.py", "from users import models\n"),
             ("users/other.py", "import json\n")]
    texts = {"users/__init__.py": "from users.app import App\n",
             "users/models.py": "import uuid\n",
             "users/app.py": "from fastapi import FastAPI\n",
             "users/far.py": "import sqlalchemy\n"}
    calls = []

    def read(paths):
        calls.append(paths)
        return {p: texts[p] for p in paths if p in texts}

    assert activations(files, TRIGGERS, (), read) == [("fastapi",), ()]
    assert len(calls) == 2 and "users/app.py" in calls[1]  # one read a hop
    assert "users/far.py" not in set().union(*calls)  # nothing imports it
