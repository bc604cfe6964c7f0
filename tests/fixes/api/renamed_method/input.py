from sqlalchemy import MetaData, Table


def copy_to(table: Table, target: MetaData) -> Table:
    return table.tometadata(target, schema="archive")
