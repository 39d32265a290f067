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


def test_0020_takes_each_units_newest_audited_completion_template(empty_url):
    """The template files of the instance folder are not read; the audit log holds every saved
    text, and the newest of each unit becomes its template (a profile row made if none)."""
    from models.audit import record
    from models.base import begin_write, make_sessionmaker
    from tests.factories import Factories

    migrate.upgrade(empty_url, "0019")
    engine = create_engine(empty_url)
    try:
        session = make_sessionmaker(engine)()
        begin_write(session)
        make = Factories(session)
        with_profile, without, untouched = make.unit(), make.unit(), make.unit()
        session.execute(text("INSERT INTO unit_profile (unit_id, responsible_person, contact_name,"
                             " contact_phone, contact_email, updated_at) VALUES (:u, '王大明',"
                             " '', '', '', '2026-11-01 00:00:00')"), {"u": with_profile.id})
        for unit, words in ((with_profile, "舊的 $name"), (without, "$name 結業"),
                            (with_profile, "新的 $name")):
            record(session, action="completion_template_updated", entity="unit",
                   entity_id=unit.id, unit_id=unit.id, actor_label="test",
                   before={"text": "x"}, after={"text": words})
        session.commit()
        ids = (with_profile.id, without.id, untouched.id)
        session.close()

        def templates():
            with engine.connect() as conn:
                return dict(conn.execute(text(
                    "SELECT unit_id, completion_template FROM unit_profile ORDER BY unit_id")).all())

        migrate.upgrade(empty_url)
        assert templates() == {ids[0]: "新的 $name", ids[1]: "$name 結業"}
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT responsible_person FROM unit_profile WHERE unit_id = :u"),
                               {"u": ids[0]}) == "王大明"
        migrate.downgrade(empty_url, "0019")
        migrate.upgrade(empty_url)
        assert templates() == {ids[0]: "新的 $name", ids[1]: "$name 結業"}
    finally:
        engine.dispose()
