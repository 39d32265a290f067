#!/usr/bin/env python
"""Results-report benchmark: the half-year report over the scale data set.

    .venv/bin/python bench/report_bench.py --db both
    .venv/bin/python bench/report_bench.py --db-url sqlite:////tmp/hourbook-scale.db

For each backend: bench/generate.py writes the scale data (default 5,000 volunteers, 20 sites,
1,000,000 sessions over 3 years) into a fresh database (a SQLite file in a temp dir or a
PostgreSQL schema of its own, dropped afterwards). --db-url reuses an already generated
database instead (migrated to the newest schema first; nothing is dropped).

Then, in this process, --repeat times each (the first run is reported apart as "cold"):

  figures       models.reports.build(): every figure of the report (bulk aggregates)
  xlsx          build() + models.reports.render(..., "xlsx"): the file the admin downloads
  preview page  GET /reports/<period> as the admin (Flask test client, template and all)

for --period (default: the most recent half-year that has ended), and once for the year
before it as a yearly report. Target (issue #7): the half-year report in at most 2 s.
Not part of the test suite.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

import generate  # noqa: E402
from models import migrate, reports  # noqa: E402
from models.base import TAIPEI, make_engine, make_sessionmaker, utcnow  # noqa: E402
from models.people import Role, User  # noqa: E402
from models.service import ServiceSession  # noqa: E402
from models.unit import Unit  # noqa: E402

TARGET_S = 2.0


def last_ended_half(today: dt.date) -> str:
    return f"{today.year}H1" if today.month >= 7 else f"{today.year - 1}H2"


def timed(fn, repeat: int) -> tuple[float, list[float], list[float]]:
    """(cold wall seconds, warm wall seconds, warm CPU seconds of this process)."""
    cold_start = time.perf_counter()
    fn()
    cold = time.perf_counter() - cold_start
    warm, cpu = [], []
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        fn()
        warm.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return cold, warm, cpu


def measured(url: str, period_code: str, repeat: int, password: str, backend: str) -> bool:
    busy0, t0 = benchlib.machine_busy_seconds(), time.perf_counter()
    rows = run(url, period_code, repeat, password)
    busy, seconds = benchlib.machine_busy_seconds() - busy0, time.perf_counter() - t0
    return report(backend, rows, busy, seconds)


def run(url: str, period_code: str, repeat: int, password: str) -> list[tuple]:
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    today = utcnow().astimezone(TAIPEI).date()
    with sessions() as s:
        unit_id = s.scalar(select(Unit.id).order_by(Unit.id).limit(1))
        total = s.scalar(select(func.count()).select_from(ServiceSession))
        admin_email = s.scalar(select(User.email).where(User.unit_id == unit_id,
                                                        User.role == Role.admin).limit(1))
    rows = []
    half = reports.parse_period(period_code)
    year = reports.make_period(half.year - 1, None)
    for period in (half, year):
        def figures(period=period):
            with sessions() as s:
                return reports.build(s, unit_id, period, today)

        def xlsx(period=period):
            with sessions() as s:
                return reports.render(reports.build(s, unit_id, period, today), "xlsx")

        report = figures()
        facts = {line.key: line.value for line in report.lines}
        rows.append((period.code, "figures", *timed(figures, repeat), facts))
        rows.append((period.code, "xlsx", *timed(xlsx, repeat), None))
    # the page, through the app (in-process), as the admin
    from webapp import create_app

    app = create_app({"HOURBOOK_DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    answer = client.post("/sign-in", data={"email": admin_email, "password": password})
    if answer.status_code != 302:
        raise SystemExit(f"could not sign in as {admin_email}: {answer.status_code}")

    def page():
        response = client.get(f"/reports/{half.code}")
        assert response.status_code == 200, response.status_code
        assert b'data-key="service.hours"' in response.data, "not the report page"
        return response

    rows.append((half.code, "preview page", *timed(page, repeat), None))
    engine.dispose()
    app.extensions["hourbook_db"]["engine"].dispose()
    print(f"  {total:,} sessions in the database")
    return rows


def report(backend: str, rows: list[tuple], busy: float, seconds: float) -> bool:
    ok = True
    print(f"\n{backend}: seconds (cold = first run; warm = median / max of the repeats; CPU = "
          "this process, median; PostgreSQL's own CPU not included)")
    print(f"| period | what | cold | warm median | warm max | CPU | ≤ {TARGET_S:g} s |")
    print("|---|---|---:|---:|---:|---:|---|")
    for code, what, cold, warm, cpu, _facts in rows:
        worst = max([cold, *warm])
        verdict = "met" if worst <= TARGET_S else "MISSED"
        if "H" in code and worst > TARGET_S:
            ok = False
        print(f"| {code} | {what} | {cold:.3f} | {statistics.median(warm):.3f} | "
              f"{max(warm):.3f} | {statistics.median(cpu):.3f} | {verdict} |")
    print(f"  the machine's cores were busy {busy / seconds * 100:.0f} % of one core on average "
          f"during the {seconds:.0f} s of measuring (everyone's processes; 200 % = both cores)")
    for code, what, _cold, _warm, _cpu, facts in rows:
        if facts:
            print(f"  {code}: {facts['volunteers.total']} volunteers, "
                  f"{facts['service.sessions']:,} verified sessions, "
                  f"{facts['service.hours'] / 60:,.0f} hours, "
                  f"{facts['service.persons_served']:,} persons served, "
                  f"{facts['insured.group']} group-insured, "
                  f"{facts['training.special.total']} with special training")
    return ok


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--db-url", help="reuse this generated database (one backend)")
    p.add_argument("--pg-url", default=benchlib.DEFAULT_PG_URL)
    p.add_argument("--period", default=None, help="half-year, e.g. 2026H1 (default: the "
                   "most recent one that has ended)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--volunteers", type=int, default=5000)
    p.add_argument("--sessions", type=int, default=1_000_000)
    p.add_argument("--password", default="hourbook-scale-2026")
    args = p.parse_args(argv)
    period = args.period or last_ended_half(utcnow().astimezone(TAIPEI).date())
    if reports.parse_period(period).yearly:
        p.error("--period is a half-year, like 2026H1")
    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.node()} · "
          f"Python {platform.python_version()} · period {period}")
    ok = True
    if args.db_url:
        backend = make_engine(args.db_url).dialect.name
        ok = measured(args.db_url, period, args.repeat, args.password, backend)
        return 0 if ok else 1
    for backend in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        with benchlib.fresh_database(backend, args.pg_url) as (url, where):
            print(f"{backend}: generating into {where} ...")
            with contextlib.redirect_stdout(sys.stderr):
                generate.main(["--db-url", url, "--volunteers", str(args.volunteers),
                               "--sessions", str(args.sessions), "--password", args.password])
            ok = measured(url, period, args.repeat, args.password, backend) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
