"""User accounts."""

from sqlalchemy import select

from shop.models import User


def create_user(s, name):
    user = User(name=name)
    s.add(user)
    s.commit()
    s.refresh(user)
    return user


def find_user(s, name):
    return s.scalars(select(User).where(User.name == name)).first()
