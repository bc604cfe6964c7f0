"""Training pairs for the sqlalchemy pack's adapter: legacy Query code and its 2.0 rewrite, written
for this purpose (none comes from the projects bench_generated_fixes.py measures on), each turned
into the exact prompt a review asks with (the real checks' findings, generate/fixing.py's prompt).

    python bench/sqlalchemy_rewrite_pairs.py OUT.jsonl
    remora-train lora --pack packs/remora_packs/sqlalchemy.pack --base-model DIR --gguf-file NAME \
        --rewrites OUT.jsonl --out sqlalchemy-lora.pack ...
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HEADER = "from sqlalchemy.orm import Session\n\n\n"
PAIRS = [
    ("""def get_account(session: Session, email: str):
    return session.query(Account).filter_by(email=email).one_or_none()
""", """from sqlalchemy import select

def get_account(session: Session, email: str):
    return session.scalars(select(Account).filter_by(email=email)).one_or_none()
"""),
    ("""def open_tickets(session: Session, owner):
    return session.query(Ticket).filter(Ticket.owner == owner, Ticket.closed.is_(None)).all()
""", """from sqlalchemy import select

def open_tickets(session: Session, owner):
    return session.scalars(select(Ticket).where(Ticket.owner == owner, Ticket.closed.is_(None))).all()
"""),
    ("""def by_id(db: Session, item_id):
    return db.query(Item).get(item_id)
""", """def by_id(db: Session, item_id):
    return db.get(Item, item_id)
"""),
    ("""def latest_posts(session: Session, limit=10):
    return session.query(Post).order_by(Post.created_at.desc()).limit(limit).all()
""", """from sqlalchemy import select

def latest_posts(session: Session, limit=10):
    return session.scalars(select(Post).order_by(Post.created_at.desc()).limit(limit)).all()
"""),
    ("""def count_users(session: Session):
    return session.query(User).count()
""", """from sqlalchemy import func, select

def count_users(session: Session):
    return session.scalar(select(func.count()).select_from(User))
"""),
    ("""def team_of(session: Session, name):
    team = session.query(Team).filter(Team.name == name).one()
    return team
""", """from sqlalchemy import select

def team_of(session: Session, name):
    team = session.scalars(select(Team).where(Team.name == name)).one()
    return team
"""),
    ("""def remove_tokens(session: Session, user_id):
    session.query(Token).filter(Token.user_id == user_id).delete()
    session.commit()
""", """from sqlalchemy import delete

def remove_tokens(session: Session, user_id):
    session.execute(delete(Token).where(Token.user_id == user_id))
    session.commit()
"""),
    ("""def exists(s: Session, key):
    return s.query(Setting).filter_by(key=key).first() is not None
""", """from sqlalchemy import select

def exists(s: Session, key):
    return s.scalars(select(Setting).filter_by(key=key)).first() is not None
"""),
    ("""def names(session: Session):
    return [row.name for row in session.query(Tag).order_by(Tag.name)]
""", """from sqlalchemy import select

def names(session: Session):
    return [row.name for row in session.scalars(select(Tag).order_by(Tag.name))]
"""),
    ("""def find_job(session: Session, job_id):
    job = session.query(Job).filter(Job.id == job_id).first()
    if job is None:
        raise LookupError(job_id)
    return job
""", """from sqlalchemy import select

def find_job(session: Session, job_id):
    job = session.scalars(select(Job).where(Job.id == job_id)).first()
    if job is None:
        raise LookupError(job_id)
    return job
"""),
    ("""def members(session: Session, group_id):
    return session.query(User).join(Membership).filter(Membership.group_id == group_id).all()
""", """from sqlalchemy import select

def members(session: Session, group_id):
    return session.scalars(select(User).join(Membership).where(Membership.group_id == group_id)).all()
"""),
    ("""def deactivate(session: Session, user_ids):
    session.query(User).filter(User.id.in_(user_ids)).update({"active": False})
""", """from sqlalchemy import update

def deactivate(session: Session, user_ids):
    session.execute(update(User).where(User.id.in_(user_ids)).values(active=False))
"""),
]


def pairs() -> list[dict[str, str]]:
    from remora_review.checks import registry
    from remora_review.config import Settings
    from remora_review.engine import FileJob, Runtime, check_source
    from remora_review.generate.fixing import plan_requests
    from remora_review.generate.wanted import wanted_fixes
    from remora_review.packs.loader import load_pack

    settings = Settings.model_validate({
        "select": ["SQLA", "RR2"],
        "generator": {"backend": "transformers", "model": "-", "context-documents": 0},
    })
    assert settings.generator is not None
    packs = {"sqlalchemy": load_pack(ROOT / "packs" / "remora_packs" / "sqlalchemy.pack")}
    env = registry.CheckEnv(ROOT, settings, packs, None, lambda: None)  # type: ignore[arg-type,return-value]
    runtime = Runtime(settings, packs, registry.build_checks(registry.CHECKS, env), None, True)
    out = []
    for before, after in PAIRS:
        source = HEADER + before
        findings = check_source(FileJob("pair.py", source, None, ("sqlalchemy",)), runtime).findings
        jobs, _ = plan_requests("pair.py", source, wanted_fixes(findings, packs),
                                settings.generator, None)
        assert len(jobs) == 1, before
        out.append({"prompt": jobs[0].request.prompt, "answer": after})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print(__doc__)
        return 2
    made = pairs()
    Path(args[0]).write_text("".join(json.dumps(p) + "\n" for p in made), "utf-8")
    print(f"{args[0]}: {len(made)} pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
