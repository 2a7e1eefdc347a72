"""Alembic's autogenerate diff between two live databases, the way Alembic users get one.

Alembic compares a live database with SQLAlchemy ``MetaData``, so "B" is reflected into
MetaData first, then ``compare_metadata`` reflects A through a MigrationContext and compares.
Both reflections are part of the cost, as they would be for any DB-vs-DB use of Alembic.

    python bench/alembic_compare.py URL_A URL_B
"""

from __future__ import annotations

import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine


def sqlalchemy_url(url: str) -> str:
    """SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; the benchmark uses psycopg2
    (what migra needs too), so name the driver explicitly."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def main(url_a: str, url_b: str) -> None:
    metadata_b = MetaData()
    engine_b = create_engine(sqlalchemy_url(url_b))
    with engine_b.connect() as conn_b:
        metadata_b.reflect(bind=conn_b)
    engine_a = create_engine(sqlalchemy_url(url_a))
    with engine_a.connect() as conn_a:
        diffs = compare_metadata(MigrationContext.configure(conn_a), metadata_b)
    print(f"{len(diffs)} differences")
    for diff in diffs:
        print(diff)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: alembic_compare.py URL_A URL_B")
    main(sys.argv[1], sys.argv[2])
