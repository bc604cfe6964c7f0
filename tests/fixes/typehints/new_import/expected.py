"""Users."""

from sqlalchemy import select

from app.models import User
from sqlalchemy.orm import Session


def create_user(session: Session, name):
    user = User(name=name)
    session.add(user)
    session.flush()
    session.commit()
    session.refresh(user)
    return session.scalars(select(User)).first()
