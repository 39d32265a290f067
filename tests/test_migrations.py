"""Migrations build the schema from empty, match the models, and go back down."""
import os
import secrets

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from models import Base, migrate
from tests.conftest import BACKEND, PG_URL, _pg_schema_url


@pytest.fixture
def empty_url(tmp_path):
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    schema = f"hbmig_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield _pg_schema_url(schema)
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_upgrade_from_empty_matches_models_and_downgrades(empty_url):
    migrate.upgrade(empty_url)
    engine = create_engine(empty_url)
    try:  # disposed even when an assertion fails: a leaked connection fails a later test
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            tables = set(inspect(conn).get_table_names())
        assert diff == [], diff
        assert {"unit", "user_account", "volunteer", "site", "service_item", "service_session",
                "insurance_cover", "audit_entry", "group_award_application",
                "reminder_mail"} <= tables
        migrate.downgrade(empty_url, "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
