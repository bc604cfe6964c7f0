"""Users."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import User


def create_user(session: Session, name):
    user = User(name=name)
    session.add(user)
    session.flush()
    session.commit()
    session.refresh(user)
    return session.scalars(select(User)).first()
