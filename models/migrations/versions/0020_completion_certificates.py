"""Completion certificates (結業證明書) in the database: the unit's template text and every
issued certificate

The template text was a JSON file in the Flask instance folder, which app servers do not share
and a backup does not copy; it becomes unit_profile.completion_template (NULL: the default
text). An issued certificate was only an audit entry and a number; completion_certificate keeps
each one with everything printed, so issuing it again the same day is a reprint (same number).

The template files are not read here (a migration does not know any server's instance folder,
and each server may have had a different file). Every saved template was audited with its text
(action completion_template_updated, after = {"text": ...}), in the database itself: the newest
such entry of each unit becomes its template. Downgrading drops the column (the audit log still
holds the texts) and the issued certificates (their audit entries stay).

Revision ID: 0020
Revises: 0019
"""
import datetime as dt
import json

from alembic import op
import sqlalchemy as sa
import models.base

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

audit_entry = sa.table("audit_entry", sa.column("id", sa.Integer), sa.column("unit_id", sa.Integer),
                       sa.column("entity_id", sa.Integer), sa.column("action", sa.String),
                       sa.column("after", sa.Text))
unit = sa.table("unit", sa.column("id", sa.Integer))
unit_profile = sa.table(
    "unit_profile", sa.column("unit_id", sa.Integer), sa.column("responsible_person", sa.String),
    sa.column("contact_name", sa.String), sa.column("contact_phone", sa.String),
    sa.column("contact_email", sa.String), sa.column("updated_at", models.base.UTCDateTime()),
    sa.column("completion_template", sa.Text))


def _import_audited_templates() -> None:
    """Each unit's newest audited template text into its profile (a profile row if none)."""
    conn = op.get_bind()
    newest: dict[int, str] = {}
    rows = conn.execute(sa.select(audit_entry.c.unit_id, audit_entry.c.entity_id, audit_entry.c.after)
                        .where(audit_entry.c.action == "completion_template_updated")
                        .order_by(audit_entry.c.id))
    for unit_id, entity_id, after in rows:
        try:
            text = json.loads(after)["text"]
        except (TypeError, ValueError, KeyError):
            continue
        if isinstance(text, str) and text.strip() and (entity_id or unit_id):
            newest[entity_id or unit_id] = text
    if not newest:
        return
    units = set(conn.scalars(sa.select(unit.c.id).where(unit.c.id.in_(list(newest)))))
    profiled = set(conn.scalars(sa.select(unit_profile.c.unit_id)
                                .where(unit_profile.c.unit_id.in_(list(newest)))))
    now = dt.datetime.now(dt.timezone.utc)
    for unit_id, text in sorted(newest.items()):
        if unit_id not in units:
            continue
        if unit_id in profiled:
            conn.execute(unit_profile.update().where(unit_profile.c.unit_id == unit_id)
                         .values(completion_template=text))
        else:
            conn.execute(unit_profile.insert().values(
                unit_id=unit_id, responsible_person="", contact_name="", contact_phone="",
                contact_email="", updated_at=now, completion_template=text))


def upgrade() -> None:
    with op.batch_alter_table("unit_profile", schema=None) as batch_op:
        batch_op.add_column(sa.Column("completion_template", sa.Text(), nullable=True))
    op.create_table(
        "completion_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("issued_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("record_ids", sa.JSON(), nullable=False),
        sa.Column("total_minutes", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("printed", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["issued_by_id"], ["user_account.id"],
                                name=op.f("fk_completion_certificate_issued_by_id_user_account")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"],
                                name=op.f("fk_completion_certificate_unit_id_unit")),
        sa.ForeignKeyConstraint(["volunteer_id"], ["volunteer.id"],
                                name=op.f("fk_completion_certificate_volunteer_id_volunteer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_completion_certificate")),
        sa.UniqueConstraint("serial", name=op.f("uq_completion_certificate_serial")),
    )
    with op.batch_alter_table("completion_certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_completion_certificate_unit_id"), ["unit_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_completion_certificate_volunteer_id"),
                              ["volunteer_id"], unique=False)
    _import_audited_templates()


def downgrade() -> None:
    with op.batch_alter_table("completion_certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_completion_certificate_volunteer_id"))
        batch_op.drop_index(batch_op.f("ix_completion_certificate_unit_id"))
    op.drop_table("completion_certificate")
    with op.batch_alter_table("unit_profile", schema=None) as batch_op:
        batch_op.drop_column("completion_template")
