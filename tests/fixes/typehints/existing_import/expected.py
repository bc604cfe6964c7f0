from sqlalchemy.orm import Session as DbSession


def save_all(session: DbSession, items):
    session.add_all(items)
    session.flush()
    session.commit()
