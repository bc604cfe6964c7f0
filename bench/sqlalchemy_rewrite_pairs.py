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
    ("""class Accounts:
    def owner(self, session: Session, account_id):
        return session.query(Owner).filter(Owner.account_id == account_id).first()
""", """from sqlalchemy import select

def owner(self, session: Session, account_id):
    return session.scalars(select(Owner).where(Owner.account_id == account_id)).first()
"""),
    ("""class Reports:
    def recent(self, db: Session, since):
        \"\"\"Reports filed since `since`, newest first.\"\"\"
        rows = db.query(Report).filter(Report.filed >= since).order_by(Report.filed.desc()).all()
        return [r.summary for r in rows]
""", """from sqlalchemy import select

def recent(self, db: Session, since):
    \"\"\"Reports filed since `since`, newest first.\"\"\"
    rows = db.scalars(select(Report).where(Report.filed >= since).order_by(Report.filed.desc())).all()
    return [r.summary for r in rows]
"""),
    ("""def search(session: Session, name=None, active=None):
    query = session.query(Customer)
    if name is not None:
        query = query.filter(Customer.name == name)
    if active is not None:
        query = query.filter(Customer.active == active)
    return query.all()
""", """from sqlalchemy import select

def search(session: Session, name=None, active=None):
    stmt = select(Customer)
    if name is not None:
        stmt = stmt.where(Customer.name == name)
    if active is not None:
        stmt = stmt.where(Customer.active == active)
    return session.scalars(stmt).all()
"""),
    ("""def max_version(session: Session, doc_id):
    return session.query(func.max(Revision.version)).filter(Revision.doc_id == doc_id).scalar()
""", """from sqlalchemy import func, select

def max_version(session: Session, doc_id):
    return session.scalar(select(func.max(Revision.version)).where(Revision.doc_id == doc_id))
"""),
    ("""def emails(session: Session):
    return [email for (email,) in session.query(User.email).filter(User.active).all()]
""", """from sqlalchemy import select

def emails(session: Session):
    return [email for (email,) in session.execute(select(User.email).where(User.active)).all()]
"""),
    ("""def pending_count(session: Session, queue):
    return session.query(Task).filter_by(queue=queue, state="pending").count()
""", """from sqlalchemy import func, select

def pending_count(session: Session, queue):
    return session.scalar(select(func.count()).select_from(Task).filter_by(queue=queue, state="pending"))
"""),
    ("""def get_config(session: Session, name: str) -> Config:
    return session.query(Config).filter(Config.name == name).one()
""", """from sqlalchemy import select

def get_config(session: Session, name: str) -> Config:
    return session.scalars(select(Config).where(Config.name == name)).one()
"""),
    ("""def has_admin(session: Session) -> bool:
    return session.query(User).filter(User.is_admin).first() is not None
""", """from sqlalchemy import select

def has_admin(session: Session) -> bool:
    return session.scalars(select(User).where(User.is_admin)).first() is not None
"""),
    ("""def page(session: Session, number: int, size: int = 20):
    return session.query(Article).order_by(Article.id).offset(number * size).limit(size).all()
""", """from sqlalchemy import select

def page(session: Session, number: int, size: int = 20):
    return session.scalars(select(Article).order_by(Article.id).offset(number * size).limit(size)).all()
"""),
    ("""def close_all(session: Session):
    for ticket in session.query(Ticket).filter(Ticket.open):
        ticket.open = False
    session.commit()
""", """from sqlalchemy import select

def close_all(session: Session):
    for ticket in session.scalars(select(Ticket).where(Ticket.open)):
        ticket.open = False
    session.commit()
"""),
    ("""class Repository:
    def fetch(self, session: Session, pk):
        obj = session.query(self.model).get(pk)
        return obj
""", """def fetch(self, session: Session, pk):
    obj = session.get(self.model, pk)
    return obj
"""),
    ("""def tags_in_use(session: Session):
    return session.query(Tag.name).distinct().all()
""", """from sqlalchemy import select

def tags_in_use(session: Session):
    return session.execute(select(Tag.name).distinct()).all()
"""),
    ("""def author_of(session: Session, post_id):
    return session.query(Author).join(Post).filter(Post.id == post_id).first()
""", """from sqlalchemy import select

def author_of(session: Session, post_id):
    return session.scalars(select(Author).join(Post).where(Post.id == post_id)).first()
"""),
    ("""def rename(session: Session, old, new):
    session.query(Project).filter_by(name=old).update({Project.name: new})
    session.commit()
""", """from sqlalchemy import update

def rename(session: Session, old, new):
    session.execute(update(Project).filter_by(name=old).values({Project.name: new}))
    session.commit()
"""),
    ("""class Roles:
    @staticmethod
    def default(session: Session):
        return session.query(Role).filter_by(default=True).one_or_none()
""", """from sqlalchemy import select

@staticmethod
def default(session: Session):
    return session.scalars(select(Role).filter_by(default=True)).one_or_none()
"""),
    ("""class Setting:
    @classmethod
    def value_of(cls, session: Session, key):
        row = session.query(cls).filter_by(key=key).first()
        return row.value if row else None
""", """from sqlalchemy import select

@classmethod
def value_of(cls, session: Session, key):
    row = session.scalars(select(cls).filter_by(key=key)).first()
    return row.value if row else None
"""),
    ("""def transfer_owner(session: Session, src_id, dst_id):
    src = session.query(User).get(src_id)
    dst = session.query(User).get(dst_id)
    for item in session.query(Item).filter(Item.owner_id == src.id):
        item.owner_id = dst.id
    session.commit()
""", """from sqlalchemy import select

def transfer_owner(session: Session, src_id, dst_id):
    src = session.get(User, src_id)
    dst = session.get(User, dst_id)
    for item in session.scalars(select(Item).where(Item.owner_id == src.id)):
        item.owner_id = dst.id
    session.commit()
"""),
    ("""def recent_logins(session: Session, *, user_id: int, limit: int = 5) -> list[Login]:
    return session.query(Login).filter(Login.user_id == user_id).order_by(Login.at.desc()).limit(limit).all()
""", """from sqlalchemy import select

def recent_logins(session: Session, *, user_id: int, limit: int = 5) -> list[Login]:
    return list(session.scalars(select(Login).where(Login.user_id == user_id).order_by(Login.at.desc()).limit(limit)).all())
"""),
    ("""def user_orders(session: Session, user_id):
    return session.query(User, Order).join(Order).filter(User.id == user_id).all()
""", """from sqlalchemy import select

def user_orders(session: Session, user_id):
    return session.execute(select(User, Order).join(Order).where(User.id == user_id)).all()
"""),
    ("""def counts_by_state(session: Session):
    return dict(session.query(Job.state, func.count(Job.id)).group_by(Job.state).all())
""", """from sqlalchemy import func, select

def counts_by_state(session: Session):
    return dict(session.execute(select(Job.state, func.count(Job.id)).group_by(Job.state)).all())
"""),
    ("""def display_name(session: Session, user_id) -> str:
    user = session.query(User).filter(User.id == user_id).first()
    if not user:
        return "unknown"
    return user.display_name or user.name
""", """from sqlalchemy import select

def display_name(session: Session, user_id) -> str:
    user = session.scalars(select(User).where(User.id == user_id)).first()
    if not user:
        return "unknown"
    return user.display_name or user.name
"""),
    ("""def lookup(session: Session, token):
    try:
        return session.query(ApiKey).filter_by(token=token).one()
    except NoResultFound:
        return None
""", """from sqlalchemy import select

def lookup(session: Session, token):
    try:
        return session.scalars(select(ApiKey).filter_by(token=token)).one()
    except NoResultFound:
        return None
"""),
    ("""def tenant_users(db_session: Session, tenant):
    users = db_session.query(User).filter(User.tenant_id == tenant.id).order_by(User.name).all()
    return users
""", """from sqlalchemy import select

def tenant_users(db_session: Session, tenant):
    users = db_session.scalars(select(User).where(User.tenant_id == tenant.id).order_by(User.name)).all()
    return users
"""),
    ("""def count_missing(sess: Session, ids):
    return sess.query(Item).filter(Item.id.in_(ids)).count()
""", """from sqlalchemy import func, select

def count_missing(sess: Session, ids):
    return sess.scalar(select(func.count()).select_from(Item).where(Item.id.in_(ids)))
"""),
    ("""def name_of(session: Session, user_id):
    return session.query(User.name).filter(User.id == user_id).scalar()
""", """from sqlalchemy import select

def name_of(session: Session, user_id):
    return session.scalar(select(User.name).where(User.id == user_id))
"""),
    ("""class Scheduler:
    def next_run(self, session: Session):
        return (
            session.query(Run)
            .filter(Run.scheduler == self.name, Run.started.is_(None))
            .order_by(Run.due)
            .first()
        )
""", """from sqlalchemy import select

def next_run(self, session: Session):
    return session.scalars(
        select(Run)
        .where(Run.scheduler == self.name, Run.started.is_(None))
        .order_by(Run.due)
    ).first()
"""),
    ("""def number_of_admins(session: Session) -> int:
    admins = session.query(User).filter_by(role="admin").all()
    return len(admins)
""", """from sqlalchemy import select

def number_of_admins(session: Session) -> int:
    admins = session.scalars(select(User).filter_by(role="admin")).all()
    return len(admins)
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
