#!/usr/bin/env python
"""Where a phone check-in request spends its CPU, in-process (no HTTP server, no other clients).

    .venv/bin/python bench/profile_checkin.py --db sqlite --requests 400
    .venv/bin/python bench/profile_checkin.py --db postgresql --pyinstrument /tmp/checkin.html

A fresh database is seeded like the load benchmark's; one volunteer signs in through the real
form and alternates check in / check out on the site poster page (Flask's test client), after
a warm-up. Each part of the request is timed with time.process_time() by wrapping functions
from the outside (the app's code is not changed): the table shows CPU milliseconds per request
and their share, next to the minimal endpoint (bench/minimal_app.py) timed the same way.
Parts are nested (indented): a parent's time includes its children's.
With --pyinstrument FILE the same loop is also profiled by pyinstrument (pip install
pyinstrument; a profiling aid only, not a project dependency) into an HTML or text report.

With --calls it counts instead the Python function calls per request (cProfile), which unlike
CPU time do not move with a shared machine's speed: the check-in/check-out POST, a signed-in
volunteer's POST to an endpoint that does nothing but read their volunteer record (the floor
every authenticated POST of the app pays: session cookie, Flask-Login, CSRF, limiter, headers)
and the minimal endpoint. The test client's own calls are in all three. Their CPU ms per
request are printed too, with the minimal endpoint's share of each: the floor's share is the
most any authenticated, CSRF-checked POST of the app could reach against the minimal endpoint.
"""
from __future__ import annotations

import argparse
import functools
import os
import re
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
KEY = re.compile(r'name="key" value="([0-9a-f]+)"')

spent: dict[str, float] = defaultdict(float)
_depth = defaultdict(int)


def timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _depth[name]:  # recursion: count the outermost call only
            return fn(*args, **kwargs)
        _depth[name] += 1
        t = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - t
            _depth[name] -= 1
    return wrapper


def instrument() -> None:
    """Wrap the parts of a request; must run before create_app() registers the hooks."""
    import flask.app
    import kiosk.phone
    import models.base
    import models.checkin
    import webapp.access
    from flask_wtf.csrf import CSRFProtect
    from sqlalchemy.orm import Session

    models.base.begin_write = timed("before_request: begin_write (SQLite: BEGIN IMMEDIATE)",
                                    models.base.begin_write)
    webapp.access._enforce = timed("before_request: access check (loads the user)",
                                   webapp.access._enforce)
    CSRFProtect.protect = timed("before_request: CSRF check", CSRFProtect.protect)
    kiosk.phone.site_by_token = timed("view: site by token", kiosk.phone.site_by_token)
    kiosk.phone._act = timed("view: _act (action + commit + page)", kiosk.phone._act)
    models.checkin.check_in = timed("domain: checkin.check_in", models.checkin.check_in)
    models.checkin.check_out = timed("domain: checkin.check_out", models.checkin.check_out)
    Session.commit = timed("Session.commit", Session.commit)
    kiosk.phone._render = timed("view: _render (page after the action)", kiosk.phone._render)
    kiosk.phone.render_template = timed("render_template(kiosk/_phone_panel.html)",
                                        kiosk.phone.render_template)
    flask.app.Flask.full_dispatch_request = timed("Flask.full_dispatch_request",
                                                  flask.app.Flask.full_dispatch_request)
    flask.app.Flask.process_response = timed("after_request + session cookie",
                                             flask.app.Flask.process_response)
    flask.app.Flask.do_teardown_appcontext = timed("teardown (close DB session)",
                                                   flask.app.Flask.do_teardown_appcontext)


ORDER = [
    ("whole request (test client)", 0),
    ("Flask.full_dispatch_request", 1),
    ("before_request: begin_write (SQLite: BEGIN IMMEDIATE)", 2),
    ("before_request: access check (loads the user)", 2),
    ("before_request: CSRF check", 2),
    ("view: site by token", 2),
    ("view: _act (action + commit + page)", 2),
    ("domain: checkin.check_in", 3),
    ("domain: checkin.check_out", 3),
    ("Session.commit", 3),
    ("view: _render (page after the action)", 3),
    ("render_template(kiosk/_phone_panel.html)", 4),
    ("after_request + session cookie", 2),
    ("teardown (close DB session)", 1),
    ("database driver (cursor.execute, all statements)", 1),
    ("inside the write transaction (on SQLite: the write lock is held)", 1),
]


def watch(app_engine, driver_time, in_write, statements) -> None:
    """Engine listeners: CPU in the driver, time inside write transactions, the statements."""
    from sqlalchemy import event

    begin_immediate = getattr(app_engine.dialect, "hourbook_begin_immediate", None)
    if begin_immediate is not None:  # SQLite: every write transaction starts here
        def _begin_immediate(conn):
            begin_immediate(conn)
            conn.info["write_t"] = time.process_time()
        app_engine.dialect.hourbook_begin_immediate = _begin_immediate
    else:
        @event.listens_for(app_engine, "begin")
        def _begin(conn):
            if conn.get_execution_options().get("hourbook_write"):
                conn.info["write_t"] = time.process_time()

    @event.listens_for(app_engine, "commit")
    def _commit(conn):
        if "write_t" in conn.info:
            in_write[0] += time.process_time() - conn.info.pop("write_t")

    @event.listens_for(app_engine, "rollback")
    def _rollback(conn):
        if "write_t" in conn.info:
            in_write[0] += time.process_time() - conn.info.pop("write_t")

    @event.listens_for(app_engine, "before_cursor_execute")
    def _before(conn, *_):
        conn.info["t"] = time.process_time()

    @event.listens_for(app_engine, "after_cursor_execute")
    def _after(conn, _cursor, statement, *_):
        driver_time[0] += time.process_time() - conn.info.pop("t", time.process_time())
        statements.append(" ".join(statement.split())[:110])


def report_calls(args, client, step, page, csrf, seeded) -> None:
    import cProfile
    import pstats

    import minimal_app

    def calls(run) -> tuple[float, float]:
        """Calls per request (cProfile), and CPU ms per request (best of 3 runs, no profiler)."""
        for _ in range(args.warmup):
            run()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            run()
        profiler.disable()
        cpu = []
        for _ in range(3):
            started = time.process_time()
            for _ in range(args.requests):
                run()
            cpu.append((time.process_time() - started) * 1000 / args.requests)
        return pstats.Stats(profiler).total_calls / args.requests, min(cpu)

    state = {"page": page}

    def checkin():
        state["page"] = step(state["page"])

    def floor():
        response = client.post("/bench/floor", data={"key": "x"},
                               headers={"HX-Request": "true", "X-CSRFToken": csrf})
        assert response.status_code == 200 and response.data == b"ok", response.status_code

    minimal = minimal_app.create_app().test_client()

    def minimal_post():
        minimal.post(f"/m/{seeded.site_tokens[0]}", data={"key": uuid.uuid4().hex})

    rows = [("phone check-in / check-out (POST /s/<token>, htmx)", calls(checkin)),
            ("signed-in POST that does nothing (session, Flask-Login, CSRF, limiter, headers)",
             calls(floor)),
            ("minimal endpoint (1 indexed SELECT + 1 INSERT)", calls(minimal_post))]
    base, base_cpu = rows[-1][1]
    print(f"{args.db}: Python function calls per request ({args.requests} requests each, "
          f"in-process, the test client's own calls included), and CPU ms per request (best "
          f"of 3 runs without the profiler; moves with the machine, the calls do not)")
    print()
    print("| request | calls | × minimal | CPU ms | minimal's share |")
    print("|---|---:|---:|---:|---:|")
    for name, (n, cpu) in rows:
        print(f"| {name} | {n:,.0f} | {n / base:.1f} | {cpu:.2f} | {base_cpu / cpu:.0%} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--warmup", type=int, default=60)
    p.add_argument("--pyinstrument", metavar="FILE", help="also write a pyinstrument report")
    p.add_argument("--calls", action="store_true",
                   help="count Python function calls per request instead of timing parts")
    p.add_argument("--statements", action="store_true",
                   help="list the SQL statements of one check-in and one check-out")
    p.add_argument("--pg-url", default=os.environ.get("HOURBOOK_BENCH_PG_URL",
                                                      benchlib.DEFAULT_PG_URL))
    args = p.parse_args(argv)
    os.environ.setdefault("HOURBOOK_SECRET_KEY", uuid.uuid4().hex)
    os.environ["HOURBOOK_LOGIN_LIMIT"] = "1000000 per minute"

    if not args.calls:
        instrument()  # its wrappers would be counted as calls

    import minimal_app
    from models.base import make_engine
    from webapp import create_app

    with benchlib.fresh_database(args.db, args.pg_url) as (url, _where):
        engine = make_engine(url)
        with engine.begin() as conn:
            seeded = benchlib.seed_unit(conn, sites=2)
            benchlib.seed_volunteers(conn, seeded, 4, email_pattern="prof{n}@bench.hourbook.tw")
        minimal_app.metadata.create_all(engine)
        engine.dispose()
        os.environ["HOURBOOK_DATABASE_URL"] = url
        app = create_app({"HOURBOOK_DATABASE_URL": url})
        if args.calls:
            benchlib.add_floor_endpoint(app)
        app_engine = app.extensions["hourbook_db"]["engine"]
        driver_time = [0.0]

        in_write = [0.0]

        statements: list[str] = []
        if not args.calls:  # the timing listeners would be counted as calls
            watch(app_engine, driver_time, in_write, statements)

        client = app.test_client()
        page = client.get("/sign-in").get_data(as_text=True)
        response = client.post("/sign-in", data={
            "csrf_token": CSRF_META.search(page).group(1), "email": seeded.emails[0],
            "password": benchlib.BENCH_PASSWORD})
        assert response.status_code == 302, response.status_code
        path = f"/s/{seeded.site_tokens[0]}"
        page = client.get(path).get_data(as_text=True)
        statuses = defaultdict(int)
        csrf = CSRF_META.search(page).group(1)  # the page's token; the htmx panels carry none

        def step(page: str) -> str:
            action = "check_out" if 'value="check_out"' in page else "check_in"
            # A check-out's answer has no form (a double tap must not check back in): the
            # next check-in's key is made here, a uuid4 hex as the page makes it.
            found = KEY.search(page)
            response = client.post(path, data={
                "csrf_token": csrf, "key": found.group(1) if found else uuid.uuid4().hex,
                "action": action, "item_id": str(seeded.item_ids[0])},
                headers={"HX-Request": "true", "X-CSRFToken": csrf})  # as the page's htmx sends it
            statuses[(action, response.status_code)] += 1
            return response.get_data(as_text=True)

        for _ in range(args.warmup):
            page = step(page)
        for _ in range(2):  # one check-in and one check-out: what each sends to the database
            statements.clear()
            action = "check_out" if 'value="check_out"' in page else "check_in"
            page = step(page)
            if args.statements:
                print(f"{action}: {len(statements)} statements")
                print("\n".join(f"  {st}" for st in statements))
            counts = locals().setdefault("counts", {})
            counts[action] = len(statements)
        if args.calls:
            report_calls(args, client, step, page, csrf, seeded)
            app_engine.dispose()
            return 0
        spent.clear()
        statuses.clear()
        driver_time[0] = 0.0
        in_write[0] = 0.0
        t_wall, t_cpu = time.perf_counter(), time.process_time()
        for _ in range(args.requests):
            page = step(page)
        cpu = time.process_time() - t_cpu
        wall = time.perf_counter() - t_wall
        spent["whole request (test client)"] = cpu
        spent["database driver (cursor.execute, all statements)"] = driver_time[0]
        spent["inside the write transaction (on SQLite: the write lock is held)"] = in_write[0]

        minimal = minimal_app.create_app().test_client()
        for _ in range(args.warmup):
            minimal.post(f"/m/{seeded.site_tokens[0]}", data={"key": uuid.uuid4().hex})
        t_cpu = time.process_time()
        in_write[0] = 0.0
        for _ in range(args.requests):
            minimal.post(f"/m/{seeded.site_tokens[0]}", data={"key": uuid.uuid4().hex})
        minimal_cpu = time.process_time() - t_cpu

        n = args.requests
        print(f"{args.db}: {n} check-in/check-out POSTs in-process, statuses "
              f"{dict(statuses)}; wall {wall / n * 1000:.2f} ms, CPU {cpu / n * 1000:.2f} ms "
              f"per request; SQL statements: check in {counts['check_in']}, "
              f"check out {counts['check_out']}")
        print()
        print("| part of the request (nested) | CPU ms per request | share |")
        print("|---|---:|---:|")
        for name, depth in ORDER:
            if name in spent:
                label = "&nbsp;&nbsp;" * depth + name
                print(f"| {label} | {spent[name] / n * 1000:.2f} | {spent[name] / cpu * 100:.0f} % |")
        print(f"| minimal endpoint, whole request (test client) | {minimal_cpu / n * 1000:.2f} | "
              f"{minimal_cpu / cpu * 100:.0f} % of a check-in |")
        print()
        print("Check-in and check-out alternate, so domain rows are per average request "
              "(each happens on half of them).")

        if args.pyinstrument:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
            for _ in range(args.requests):
                page = step(page)
            profiler.stop()
            out = Path(args.pyinstrument)
            out.write_text(profiler.output_html() if out.suffix == ".html"
                           else profiler.output_text(unicode=True, color=False))
            print(f"pyinstrument report: {out}")
        app_engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
