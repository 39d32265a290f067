#!/usr/bin/env python
"""How long the admin's recognition pages take to count who qualifies, on scale data.

    .venv/bin/python bench/generate.py --db-url sqlite:////tmp/hourbook-scale.db \\
        --volunteers 5000 --sites 20 --sessions 300000
    .venv/bin/python bench/recognition_bench.py --db-url sqlite:////tmp/hourbook-scale.db

Migrates to the newest schema, adds training records (as bench/benchlib.py seeds them) when the database has none, then times
models.awards.eligibility one volunteer at a time (on a sample, extrapolated), the bulk
models.recognition.unit_eligibility, the deadline calendar and one award list, and checks the
bulk answers equal the one-by-one answers on a sample.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchlib  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from models import awards as aw  # noqa: E402
from models import migrate  # noqa: E402
from models import recognition as rec  # noqa: E402
from models.base import make_engine  # noqa: E402
from models.people import Volunteer  # noqa: E402
from models.training import TrainingCourse, TrainingRecord  # noqa: E402

FIELDS = ("award_key", "eligible", "level", "counted_minutes", "service_months",
          "missing_minutes", "missing_months", "missing_conditions")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db-url", required=True)
    p.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: today)")
    p.add_argument("--sample", type=int, default=200)
    args = p.parse_args(argv)
    today = dt.date.fromisoformat(args.as_of) if args.as_of else dt.date.today()
    migrate.upgrade(args.db_url)  # the newest schema (the data may predate it)
    engine = make_engine(args.db_url)
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(TrainingRecord)).scalar() == 0:
            unit_id = conn.execute(select(Volunteer.unit_id).limit(1)).scalar()
            if not conn.execute(select(TrainingCourse.id).limit(1)).first():
                benchlib.seed_training_catalogue(conn, unit_id)
            rows = conn.execute(select(Volunteer.id, Volunteer.joined_on)).all()
            benchlib.seed_training_records(conn, unit_id, [r[0] for r in rows],
                                           [r[1] or dt.date(2022, 1, 1) for r in rows])
    with Session(engine) as s:
        unit_id = s.scalar(select(Volunteer.unit_id).limit(1))
        vols = list(s.scalars(select(Volunteer).where(Volunteer.unit_id == unit_id)))
        t = time.perf_counter()
        single = {v.id: aw.eligibility(s, v, today) for v in vols[:args.sample]}
        per = (time.perf_counter() - t) / len(single)
        print(f"one by one: {per * 1000:.1f} ms per volunteer -> {per * len(vols):.1f} s "
              f"for {len(vols)}")
        t = time.perf_counter()
        bulk = dict(rec.unit_eligibility(s, unit_id, today))
        print(f"unit_eligibility (every award, every volunteer): {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        calendar = rec.deadlines(s, unit_id, today)
        print(f"deadline calendar: {time.perf_counter() - t:.2f} s")
        for d in calendar:
            print(f"  {d.due} {d.key}: {d.qualifying}")
        t = time.perf_counter()
        rows = rec.award_list(s, unit_id, "mohw", today)
        print(f"award list (mohw): {time.perf_counter() - t:.2f} s, {len(rows)} rows")
        by_id = {v.id: items for v, items in bulk.items()}
        bad = [vid for vid, items in single.items()
               if [[getattr(e, f) for f in FIELDS] for e in items]
               != [[getattr(e, f) for f in FIELDS] for e in by_id[vid]]]
        print(f"bulk vs one by one on {len(single)} volunteers: {len(bad)} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
