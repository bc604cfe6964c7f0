from sqlalchemy.orm import sessionmaker

Session = sessionmaker()


def save_all(session, items):
    session.add_all(items)
    session.flush()
    session.commit()
