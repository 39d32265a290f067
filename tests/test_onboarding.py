"""A brand-new unit from an empty database: what it needs before its first check-in, without
the demo's seeded data (the unit itself, its service items, its supervisors)."""
from __future__ import annotations

from sqlalchemy import select

from models.audit import AuditEntry
from models.people import Role, User
from models.training import TrainingCourse
from models.unit import Category, LegalType, Unit


# --- the unit and its first admin, from the command line -------------------------------------

def test_cli_creates_a_unit_then_its_first_admin(app, db):
    runner = app.test_cli_runner()
    no_unit = runner.invoke(args=["users", "create", "--role", "admin", "--email", "a@school.tw",
                                  "--password", "first-admin-2026"])
    assert no_unit.exit_code != 0 and "hourbook units create" in no_unit.output

    result = runner.invoke(args=["units", "create", "--name", "臺北市立明德國民中學",
                                 "--legal-type", "school", "--category", "comprehensive",
                                 "--registration-no", "北市教字第 1130001234 號"])
    assert result.exit_code == 0, result.output
    unit = db.scalar(select(Unit))
    assert (unit.name, unit.legal_type, unit.category, unit.registration_no) == (
        "臺北市立明德國民中學", LegalType.school, Category.comprehensive, "北市教字第 1130001234 號")
    # the course catalogue of rules.md comes with it: training can be recorded at once
    codes = set(db.scalars(select(TrainingCourse.code).where(TrainingCourse.unit_id == unit.id)))
    assert {"B01", "B02", "B03", "CO01", "CO02"} <= codes
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "unit_created")) is not None

    admin = runner.invoke(args=["users", "create", "--role", "admin", "--email", "a@school.tw",
                                "--name", "陳承辦", "--password", "first-admin-2026"])
    assert admin.exit_code == 0, admin.output
    db.rollback()  # a fresh look: the command committed in its own session
    user = db.scalar(select(User).where(User.email == "a@school.tw"))
    assert (user.unit_id, user.role) == (unit.id, Role.admin)

    listed = runner.invoke(args=["units", "list"])
    assert f"{unit.id}\tschool\tcomprehensive\t臺北市立明德國民中學" in listed.output


def test_cli_refuses_a_unit_that_may_not_be_one(app, db):
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["units", "create", "--name", "某公司", "--legal-type", "company",
                              "--category", "comprehensive"])
    assert bad.exit_code == 2 and "juridical_person" in bad.output
    blank = runner.invoke(args=["units", "create", "--name", "  ", "--legal-type", "school",
                                "--category", "comprehensive"])
    assert blank.exit_code == 1 and "name" in blank.output
    assert db.scalar(select(Unit)) is None
    missing = runner.invoke(args=["users", "create", "--role", "admin", "--email", "x@y.tw",
                                  "--unit-id", "999", "--password", "first-admin-2026"])
    assert missing.exit_code == 1 and "no unit 999" in missing.output
