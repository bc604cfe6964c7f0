from sqlalchemy import MetaData, Table


def copy_to(table: Table, target: MetaData) -> Table:
    return table.to_metadata(target, schema="archive")
