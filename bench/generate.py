#!/usr/bin/env python
"""Scale data for the dashboard benchmark: one unit with years of service sessions.

    .venv/bin/python bench/generate.py --db-url sqlite:////tmp/hourbook-scale.db \\
        --volunteers 5000 --sites 20 --sessions 1000000

    psql -h 127.0.0.1 -U postgres test -c 'CREATE SCHEMA hb_scale'
    .venv/bin/python bench/generate.py \\
        --db-url 'postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dhb_scale' \\
        --volunteers 5000 --sites 20 --sessions 1000000

The database is migrated to the newest schema first; it must not hold a unit yet.
Creates: a unit, --sites sites, its service items, --volunteers active volunteers (valid
national ID numbers, an account each with a shared bench password hash) with a yearly
accident-insurance cover for every year they served, and --sessions service sessions over
--years years (Taipei daytime, morning and afternoon slots, never overlapping for one
volunteer): older ones verified with credited minutes (a few rejected or left as needs-review),
the last three weeks mostly closed awaiting verification, some auto-closed needs-review, and
--open sessions open right now (one per volunteer: the partial unique index holds). Activity
is skewed like real units: a few volunteers serve almost daily, most now and then.

The session table's secondary indexes (the partial unique one too), as the migrations made them,
are dropped while the rows are written and built afterwards (--no-defer-indexes keeps them). Accounts printed at the end: an admin, a supervisor (assigned to a quarter of the sites) and the
busiest volunteer. Sessions are written with COPY on PostgreSQL and executemany in chunks on
SQLite, in check-in order; then the planner statistics are refreshed (ANALYZE).
"""
from __future__ import annotations

import argparse
import bisect
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from sqlalchemy import func, insert, select, text, update  # noqa: E402

from models import migrate  # noqa: E402
from models.base import TAIPEI, make_engine, utcnow  # noqa: E402
from models.insurance import InsuranceCover  # noqa: E402
from models.people import Role, User, Volunteer  # noqa: E402
from models.service import ServiceSession  # noqa: E402
from models.unit import Unit  # noqa: E402
from models.verification import SupervisorSite  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

COLUMNS = ("unit_id", "volunteer_id", "site_id", "service_item_id", "checked_in_at",
           "checked_out_at", "status", "credited_minutes", "source", "checkout_source", "flags",
           "persons_served", "note", "client_key", "verified_by_id", "verified_at",
           "hour_slip_id", "created_at", "version")
SOURCES = (["poster"] * 55 + ["kiosk_card"] * 24 + ["kiosk_keypad"] * 10 + ["kiosk_qr"] * 8
           + ["manual"] * 3)
RECENT_DAYS = 21  # sessions newer than this are mostly still awaiting verification
UTC = dt.timezone.utc


def session_counts(rng: random.Random, capacities: list[int], total: int) -> list[int]:
    """Sessions per volunteer: heavy-tailed (Pareto) shares of `total`, each at most its
    capacity; volunteer 0 is made the busiest."""
    weights = [rng.paretovariate(1.3) for _ in capacities]
    weights[0] = max(weights) * 1.5
    scale = total / sum(weights)
    counts = [min(cap, int(w * scale)) for w, cap in zip(weights, capacities)]
    missing = total - sum(counts)
    if missing > sum(capacities) - sum(counts):
        raise SystemExit(f"{total} sessions do not fit: at most {sum(capacities)} for these "
                         "volunteers over these years (two a day each)")
    order = sorted(range(len(counts)), key=lambda i: -weights[i])
    while missing > 0:  # hand the rest to the volunteers with room, busiest first
        for i in order:
            if missing == 0:
                break
            room = capacities[i] - counts[i]
            if room > 0:
                add = min(room, max(1, missing // 50))
                counts[i] += add
                missing -= add
    return counts


def local_moment(day: dt.date, minutes: int, second: int) -> dt.datetime:
    return (dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60, second), tzinfo=TAIPEI)
            .astimezone(UTC))


def next_midnight(moment: dt.datetime) -> dt.datetime:
    day = moment.astimezone(TAIPEI).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=TAIPEI).astimezone(UTC)


def build_sessions(rng, *, unit_id, volunteers, joined, site_ids, item_ids, total, open_now,
                   years, now, admin_id, supervisor_id, supervised):
    """Rows (tuples in COLUMNS order, aware datetimes) sorted by check-in time."""
    today = now.astimezone(TAIPEI).date()
    first = today - dt.timedelta(days=round(365.25 * years))
    # service days: every day but Sunday, up to yesterday
    days = [first + dt.timedelta(days=i) for i in range((today - first).days)]
    days = [d for d in days if d.weekday() != 6]
    ordinals = [d.toordinal() for d in days]
    starts = [bisect.bisect_left(ordinals, max(j, first).toordinal()) for j in joined]
    # at most half of a volunteer's morning/afternoon slots (the busiest: 60 %)
    capacities = [(len(days) - s) for s in starts]
    capacities[0] = capacities[0] * 6 // 5
    counts = session_counts(rng, capacities, total - open_now)
    # each volunteer keeps to a few home sites and items
    recent_cut = today - dt.timedelta(days=RECENT_DAYS)
    rows = []
    for v, (vid, start, n) in enumerate(zip(volunteers, starts, counts)):
        if n == 0:
            continue
        homes = rng.sample(site_ids, k=min(len(site_ids), rng.choice((1, 1, 2, 3))))
        items = rng.sample(item_ids, k=min(len(item_ids), rng.choice((1, 2, 2, 3))))
        for slot_index in rng.sample(range(2 * start, 2 * len(days)), n):
            day, afternoon = days[slot_index // 2], slot_index % 2
            if afternoon:
                begin = rng.randrange(13 * 60, 16 * 60 + 1)
                length = rng.randrange(60, min(300, 21 * 60 - begin) + 1)
            else:
                begin = rng.randrange(7 * 60 + 30, 10 * 60 + 1)
                length = rng.randrange(45, 12 * 60 + 50 - begin)
            checked_in = local_moment(day, begin, rng.randrange(60))
            checked_out = checked_in + dt.timedelta(minutes=length, seconds=rng.randrange(60))
            minutes = int((checked_out - checked_in).total_seconds() // 60)
            site = homes[0] if len(homes) == 1 or rng.random() < 0.8 else rng.choice(homes)
            source = rng.choice(SOURCES)
            checkout_source = source if rng.random() < 0.9 else "poster"
            flags = "offline" if source.startswith("kiosk") and rng.random() < 0.01 else ""
            if source == "manual":
                flags = "manual_checkout"
            persons = rng.randrange(1, 25) if rng.random() < 0.7 else None
            r = rng.random()
            verified_by = verified_at = None
            credited, version = 0, 1
            if day >= recent_cut:
                status = "verified" if r < 0.4 else "closed" if r < 0.92 else "needs_review"
            else:
                status = "verified" if r < 0.985 else "rejected" if r < 0.995 else "needs_review"
            if status == "needs_review":  # forgotten check-out, auto-closed (see close_stale)
                checked_out = min(checked_in + dt.timedelta(minutes=720), next_midnight(checked_in))
                checkout_source, flags, persons = None, "auto_closed", None
            elif status in ("verified", "rejected"):
                verified_by = supervisor_id if site in supervised else admin_id
                verified_at = checked_out + dt.timedelta(days=rng.randrange(1, 8),
                                                         minutes=rng.randrange(600))
                verified_at = min(verified_at, now)
                credited = minutes if status == "verified" else 0
                version = 2
            rows.append((unit_id, vid, site, rng.choice(items), checked_in, checked_out, status,
                         credited, source, checkout_source, flags, persons, "", None,
                         verified_by, verified_at, None, checked_in, version))
    # on site right now: one open session each for `open_now` volunteers
    opening = local_moment(today, 7 * 60, 0)
    for vid in rng.sample(volunteers, open_now):
        earliest = max(opening, now - dt.timedelta(minutes=240))
        if earliest >= now:
            earliest = now - dt.timedelta(minutes=60)
        span = int((now - earliest).total_seconds())
        checked_in = now - dt.timedelta(seconds=rng.randrange(60, max(61, span)))
        rows.append((unit_id, vid, rng.choice(site_ids), rng.choice(item_ids), checked_in, None,
                     "open", 0, rng.choice(SOURCES[:97]), None, "", None, "", None, None, None,
                     None, checked_in, 1))
    rows.sort(key=lambda row: row[4])
    return rows, counts


def session_indexes(conn) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the session table's indexes as the database has them
    (the migrations made them), leaving out those behind primary key and unique constraints."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'service_session' AND sql IS NOT NULL ORDER BY name").all()
    else:
        rows = conn.execute(text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = current_schema() AND i.tablename = 'service_session' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_namespace n "
            "ON n.oid = c.connamespace WHERE n.nspname = current_schema() "
            "AND c.conname = i.indexname) ORDER BY i.indexname")).all()
    return [(name, ddl) for name, ddl in rows]


def sqlite_value(value):
    """What SQLAlchemy itself stores on SQLite: naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(UTC)
        return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond:06d}"
    return value


def write_sessions(engine, rows, chunk: int) -> None:
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cur:
                with cur.copy(f"COPY service_session ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([v.astimezone(UTC).replace(tzinfo=None)
                                        if isinstance(v, dt.datetime) else v for v in row])
            raw.commit()
        else:
            sql = (f"INSERT INTO service_session ({', '.join(COLUMNS)}) "
                   f"VALUES ({', '.join('?' * len(COLUMNS))})")
            cur = raw.cursor()
            for i in range(0, len(rows), chunk):
                cur.execute("BEGIN IMMEDIATE")
                cur.executemany(sql, [tuple(sqlite_value(v) for v in row)
                                      for row in rows[i:i + chunk]])
                cur.execute("COMMIT")
            cur.close()
    finally:
        raw.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db-url", required=True)
    p.add_argument("--volunteers", type=int, default=5000)
    p.add_argument("--sites", type=int, default=20)
    p.add_argument("--sessions", type=int, default=1_000_000)
    p.add_argument("--years", type=float, default=3)
    p.add_argument("--open", type=int, default=50, help="sessions open right now")
    p.add_argument("--chunk", type=int, default=10_000, help="rows per executemany (SQLite)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--no-defer-indexes", dest="defer_indexes", action="store_false",
                   help="keep the session table's indexes while writing (slower)")
    p.add_argument("--password", default="hourbook-scale-2026",
                   help="password of the printed admin, supervisor and volunteer accounts")
    args = p.parse_args(argv)
    if args.open > args.volunteers:
        p.error("--open must not exceed --volunteers")
    rng = random.Random(args.seed)
    now = utcnow()
    today = now.astimezone(TAIPEI).date()
    timings: dict[str, float] = {}
    t_all = t = time.perf_counter()

    migrate.upgrade(args.db_url)
    engine = make_engine(args.db_url)
    timings["migrate"] = time.perf_counter() - t
    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(Unit)):
            raise SystemExit("this database already holds a unit: give an empty database")

    t = time.perf_counter()
    with engine.begin() as conn:
        seeded = benchlib.seed_unit(conn, sites=args.sites, rng=rng,
                                    name="財團法人臺北市規模測試社會福利基金會")
        benchlib.seed_volunteers(conn, seeded, args.volunteers,
                                 email_pattern="v{n:05d}@scale.hourbook.tw", rng=rng, today=today)
        first_year = (today - dt.timedelta(days=round(365.25 * args.years))).year
        # the busiest volunteer (the first) has served since before the span began
        conn.execute(update(Volunteer).where(Volunteer.id == seeded.volunteer_ids[0])
                     .values(joined_on=dt.date(first_year - 2, 3, 1)))
        # earlier years' covers: calendar years, for every year a volunteer served
        joined = dict(conn.execute(select(Volunteer.id, Volunteer.joined_on)
                                   .where(Volunteer.unit_id == seeded.unit_id)).all())
        covers = []
        for vid in seeded.volunteer_ids:
            for year in range(max(first_year, joined[vid].year), today.year):
                covers.append(dict(volunteer_id=vid, kind="group", insurer="臺灣產物保險",
                                   policy_no=f"GP-{year}-{vid}", starts_on=dt.date(year, 1, 1),
                                   ends_on=dt.date(year, 12, 31), created_at=now))
        for i in range(0, len(covers), args.chunk):
            conn.execute(insert(InsuranceCover), covers[i:i + args.chunk])
        # the printed accounts: real password hashes
        real_hash = generate_password_hash(args.password)
        admin_email, sup_email = "admin@scale.hourbook.tw", "supervisor@scale.hourbook.tw"
        conn.execute(insert(User), [
            dict(unit_id=seeded.unit_id, email=admin_email, display_name="王承辦",
                 password_hash=real_hash, role=Role.admin.value, active=True,
                 session_token=benchlib.secrets.token_hex(16), created_at=now),
            dict(unit_id=seeded.unit_id, email=sup_email, display_name="林督導",
                 password_hash=real_hash, role=Role.supervisor.value, active=True,
                 session_token=benchlib.secrets.token_hex(16), created_at=now)])
        admin_id = conn.scalar(select(User.id).where(User.email == admin_email))
        supervisor_id = conn.scalar(select(User.id).where(User.email == sup_email))
        supervised = set(seeded.site_ids[:max(1, len(seeded.site_ids) // 4)])
        conn.execute(insert(SupervisorSite), [dict(user_id=supervisor_id, site_id=s)
                                              for s in sorted(supervised)])
        busiest_email = seeded.emails[0]
        conn.execute(update(User).where(User.email == busiest_email)
                     .values(password_hash=real_hash))
    timings["unit, sites, volunteers, accounts, covers"] = time.perf_counter() - t

    t = time.perf_counter()
    rows, counts = build_sessions(
        rng, unit_id=seeded.unit_id, volunteers=seeded.volunteer_ids,
        joined=[joined[v] for v in seeded.volunteer_ids], site_ids=seeded.site_ids,
        item_ids=seeded.item_ids, total=args.sessions, open_now=args.open, years=args.years,
        now=now, admin_id=admin_id, supervisor_id=supervisor_id, supervised=supervised)
    timings["build session rows (Python)"] = time.perf_counter() - t

    indexes: list[tuple[str, str]] = []
    if args.defer_indexes:  # build them once at the end: much faster than row by row
        with engine.begin() as conn:
            indexes = session_indexes(conn)
            for name, _ddl in indexes:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
    t = time.perf_counter()
    write_sessions(engine, rows, args.chunk)
    timings["write sessions (" + ("COPY" if engine.dialect.name == "postgresql"
                                  else f"executemany x {args.chunk}") + ")"] = \
        time.perf_counter() - t
    if args.defer_indexes:
        t = time.perf_counter()
        with engine.begin() as conn:  # the partial unique index checks "one open" again here
            for _name, ddl in indexes:
                conn.exec_driver_sql(ddl)
        timings[f"create the {len(indexes)} session indexes"] = time.perf_counter() - t

    t = time.perf_counter()
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # autocommit (models.base): outside any transaction
        try:
            raw.cursor().execute("ANALYZE")
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    else:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    timings["ANALYZE"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t_all

    with engine.connect() as conn:
        by_status = dict(conn.execute(select(ServiceSession.status, func.count())
                                      .group_by(ServiceSession.status)).all())
        total = sum(by_status.values())
        open_count = conn.scalar(select(func.count()).select_from(ServiceSession)
                                 .where(ServiceSession.checked_out_at.is_(None)))
        span = conn.execute(select(func.min(ServiceSession.checked_in_at),
                                   func.max(ServiceSession.checked_in_at))).one()
        busiest = conn.scalar(select(func.count()).select_from(ServiceSession)
                              .where(ServiceSession.volunteer_id == seeded.volunteer_ids[0]))
        covers_n = conn.scalar(select(func.count()).select_from(InsuranceCover))
    size = benchlib.database_size(engine)
    engine.dispose()

    print(f"unit {seeded.unit_id}: {len(seeded.site_ids)} sites, {len(seeded.item_ids)} items, "
          f"{len(seeded.volunteer_ids)} volunteers, {covers_n} insurance covers")
    print(f"{total} sessions from {span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d %H:%M} UTC: "
          + ", ".join(f"{getattr(k, 'value', k)} {v}" for k, v in sorted(
              by_status.items(), key=lambda kv: -kv[1])) + f"; open now {open_count}")
    print(f"sessions per volunteer: median {sorted(counts)[len(counts) // 2]}, "
          f"max {max(counts)}, busiest volunteer {busiest}")
    print(f"database size: {size / 2**20:.0f} MiB")
    print("timings:")
    for name, seconds in timings.items():
        print(f"  {name:<45} {seconds:7.1f} s")
    print("accounts (password for all three: " + args.password + "):")
    print(f"  admin       {admin_email}")
    print(f"  supervisor  {sup_email}  (sites {sorted(supervised)})")
    print(f"  volunteer   {busiest_email}  ({busiest} sessions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
