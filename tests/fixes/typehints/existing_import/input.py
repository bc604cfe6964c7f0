from sqlalchemy.orm import Session as DbSession


def save_all(session, items):
    session.add_all(items)
    session.flush()
    session.commit()
