#!/usr/bin/env python
"""Fault scripts: the app server killed, the database restarted, in the middle of a check-in load.

    .venv/bin/python bench/faults.py crash --db sqlite --duration 60
    .venv/bin/python bench/faults.py crash --db postgresql --duration 60
    .venv/bin/python bench/faults.py db-restart --duration 60     # a private PostgreSQL cluster

Both reuse bench/checkin_load.py's clients (real sign-in, the phone check-in page, each POST
with the page's CSRF token and idempotency key) and its gunicorn runner, on a fresh seeded
database (bench/benchlib.py), and check afterwards, against the database:
  - every check-in/out a client was told succeeded is there (by its idempotency key);
  - no half-written rows: every accepted check-in has its session and every session its
    accepted check-in, every closed session its accepted check-out (closed after it opened);
  - open sessions are consistent: at most one per volunteer, and what each volunteer's page
    shows after the fault (checked in or not) is what the database holds.

crash: at 40 % of --duration, `kill -9` of the gunicorn master and all its workers (one process
group), --down seconds without a server, then the same command again on the same port (same
secret key: the clients stay signed in). Requests in flight are lost, never half-applied.

db-restart: never touches the shared PostgreSQL on 5432. It makes a private cluster
(initdb into a temp dir, port --pg-port, trust auth, run as the postgres user), runs the load
against it, and at 40 % of --duration stops it (`pg_ctl stop -m fast`) for --down seconds and
starts it again. The app is not restarted: it must recover by itself (pool_pre_ping), and
while the database is away clients must get 503 with Retry-After (a translated "try again"
page), never a 500. Reported: answers by status during the outage, seconds from the
database's return to the first accepted check-in.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import benchlib  # noqa: E402
import checkin_load as cl  # noqa: E402
from sqlalchemy import select  # noqa: E402

from models.base import make_engine  # noqa: E402
from models.service import ServiceSession  # noqa: E402


# --- a private PostgreSQL cluster ---------------------------------------------------------------

class PrivateCluster:
    """initdb + pg_ctl in a temp dir, owned by the postgres user; removed by close()."""

    def __init__(self, port: int, bindir: Path | None = None):
        self.port = port
        self.bindir = bindir or sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="hourbook-faults-pg-"))
        self.data = self.dir / "data"
        self.user = "postgres"
        pw = pwd.getpwnam(self.user)
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._as_pg([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                     "postgres", "-E", "UTF8", "--no-sync"])
        self.start()
        self._as_pg([str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                     "postgres", "faults"])
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/faults"

    def _as_pg(self, cmd: list[str]) -> None:
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.dir)

    def start(self) -> None:
        self._as_pg([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-l",
                     str(self.dir / "server.log"), "-o",
                     f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
                     "-c max_connections=60 -c fsync=on", "start"])

    def stop(self) -> None:
        self._as_pg([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast",
                     "stop"])

    def close(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the run ----------------------------------------------------------------------------------

def page_states(driver: cl.Driver) -> dict[str, bool | None]:
    """Reload every volunteer's check-in page: email -> checked in (None: no page)."""
    async def one(conn, vols, path):
        out = {}
        for vol in vols:
            try:
                await driver.resync(conn, vol, path)
                out[vol.email] = vol.checked_in
            except Exception:  # noqa: BLE001 - reported as None
                out[vol.email] = None
        conn.close()
        return out

    async def all_():
        results = await asyncio.gather(*(one(cl.Connection(driver.port), vols, path)
                                         for _, vols, path in driver.clients))
        merged: dict = {}
        for r in results:
            merged.update(r)
        return merged

    return asyncio.run(all_())


def run(kind: str, args) -> int:
    log_dir = Path(tempfile.mkdtemp(prefix="hourbook-faults-logs-"))
    cluster = None
    if kind == "db-restart":
        cluster = PrivateCluster(args.pg_port)
        pg_url, backend = cluster.url, "postgresql"
    else:
        pg_url, backend = args.pg_url, args.db
    try:
        with benchlib.fresh_database(backend, pg_url) as (url, where):
            engine = make_engine(url)
            seeded = cl.seed_for(args, engine)
            print(f"[{kind}] {backend}, {where}: {len(seeded.volunteer_ids)} volunteers, "
                  f"{args.clients} clients, {args.duration:g} s", flush=True)
            secret = secrets.token_hex(32)
            server = {"app": cl.Gunicorn("webapp:create_app()", url, args, log_dir, secret=secret)}
            phase = cl.Phase(kind)
            marks: dict = {}
            try:
                driver = cl.Driver(args, server["app"].port, seeded, phase, lambda: {})

                def fault():
                    loop_now = time.monotonic
                    if kind == "crash":
                        marks["fault"] = loop_now()
                        server["app"].kill_hard()
                        time.sleep(args.down)
                        server["app"] = cl.Gunicorn("webapp:create_app()", url, args, log_dir,
                                                    port=server["app"].port, secret=secret)
                        marks["back"] = loop_now()
                    else:
                        marks["fault"] = loop_now()
                        cluster.stop()
                        time.sleep(args.down)
                        cluster.start()
                        marks["back"] = loop_now()

                async def go():
                    await driver.prepare(0)
                    # asyncio's loop.time() is time.monotonic(): samples and marks share a clock
                    start = asyncio.get_running_loop().time()

                    async def later():
                        await asyncio.sleep(args.duration * 0.4)
                        await asyncio.to_thread(fault)

                    fault_task = asyncio.create_task(later())
                    await driver.run(driver.checkin_client, args.duration)
                    await fault_task
                    marks["start"] = start

                asyncio.run(go())
                states = page_states(driver)
            finally:
                server["app"].stop()
            check = cl.verify(engine, phase)
            with engine.connect() as conn:
                open_ids = set(conn.scalars(select(ServiceSession.volunteer_id).where(
                    ServiceSession.checked_out_at.is_(None))))
            engine.dispose()
    finally:
        if cluster is not None:
            cluster.close()

    by_email = dict(zip(seeded.emails, seeded.volunteer_ids))
    mismatched = [e for e, s in states.items() if s is None or s != (by_email[e] in open_ids)]
    fault_at, back_at = marks["fault"], marks["back"]
    during = Counter(s.status for s in phase.samples if fault_at <= s.end < back_at)
    after_ok = [s.end for s in phase.samples if s.ok and s.end >= back_at]
    recovery = (after_ok[0] - back_at) if after_ok else float("nan")
    fault_at, back_at = fault_at - marks["start"], back_at - marks["start"]
    statuses = Counter(s.status for s in phase.samples if not s.ok)
    unacked = check["accepted_in"] + check["accepted_out"] - check["ok_in"] - check["ok_out"]
    ok = (check["lost"] == 0 and check["orphans"] == 0 and check["doubled"] == 0
          and not mismatched and after_ok and (kind != "db-restart" or statuses.get(500, 0) == 0))
    print()
    print(f"fault: {kind} at {fault_at:.1f} s, back at {back_at:.1f} s "
          f"(away {back_at - fault_at:.1f} s, restart included); first accepted check-in/out "
          f"{recovery:.2f} s after it was back")
    print(f"answers while down (status: count, 0 = no answer): {dict(sorted(during.items()))}")
    print(f"all failed requests over the run: {dict(sorted(statuses.items()))}; resyncs "
          f"{phase.resyncs}")
    print(f"acknowledged: {check['ok_in']} check-ins, {check['ok_out']} check-outs; in the "
          f"database: {check['accepted_in']} / {check['accepted_out']} accepted, "
          f"{check['sessions']} sessions, {check['open']} open")
    print(f"acknowledged but missing: {check['lost']} {check['lost_examples'] or ''}")
    print(f"saved but never acknowledged (the answer was lost with the fault): {unacked}")
    print(f"half-written rows: {check['orphans']}; volunteers with two open sessions: "
          f"{check['doubled']}; pages that disagree with the database afterwards: "
          f"{len(mismatched)}")
    print(f"VERDICT: {'PASS' if ok else 'FAIL'}   (server logs in {log_dir})")
    return 0 if ok else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("kind", choices=["crash", "db-restart"])
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite",
                   help="crash only (db-restart is always its private PostgreSQL)")
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--down", type=float, default=5, help="seconds the server/database is away")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--volunteers", type=int, default=200)
    p.add_argument("--volunteers-per-client", type=int, default=8)
    p.add_argument("--sites", type=int, default=4)
    p.add_argument("--think", type=float, default=0.2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--worker-class", choices=["sync", "gthread"], default="gthread")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--pg-url", default=os.environ.get("HOURBOOK_BENCH_PG_URL",
                                                      benchlib.DEFAULT_PG_URL))
    p.add_argument("--pg-port", type=int, default=55432, help="db-restart: the private cluster")
    args = p.parse_args(argv)
    return run(args.kind, args)


if __name__ == "__main__":
    sys.exit(main())
