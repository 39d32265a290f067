#!/usr/bin/env python
"""Check-in load benchmark: phone check-in/check-out under gunicorn, next to a minimal endpoint.

    .venv/bin/python bench/checkin_load.py --db sqlite --seconds 30 --clients 32
    .venv/bin/python bench/checkin_load.py --db postgresql --seconds 30 --clients 32
    .venv/bin/python bench/checkin_load.py --db both          # one after the other

For each backend, in one run:
  1. a fresh database (SQLite file in a temp dir, or a PostgreSQL schema of its own, dropped
     afterwards), migrated, seeded in bulk with a unit, sites, items and insured volunteers with
     accounts (a cheap shared password hash: seeding, not the measured path);
  2. the minimal endpoint (bench/minimal_app.py: one indexed SELECT + one INSERT per request)
     under gunicorn: `--clients` keep-alive connections post to it for --warmup + --seconds;
  3. the app (webapp:create_app(), as deployed; --app for another entry) under the same gunicorn settings: every client signs in as
     its own volunteers through the real sign-in form (CSRF token from the page), opens the
     site poster page /s/<token>, then loops: check in, check out, ... each a real POST with the
     page's CSRF token and the page's fresh idempotency key, round-robin over its volunteers;
  4. the database is checked: sessions == successful check-ins, closed == successful check-outs.

Only 127.0.0.1 is used. Every loop is bounded in time (per request too: --timeout).
The load generator is one asyncio loop with raw HTTP/1.1 keep-alive connections (cheap per
request); its own CPU use, the server's and PostgreSQL's are printed with the table.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import benchlib  # noqa: E402
import minimal_app  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from models.base import make_engine  # noqa: E402
from models.checkin import CheckinEvent, Outcome  # noqa: E402
from models.service import ServiceSession  # noqa: E402

CSRF_META = re.compile(rb'<meta name="csrf-token" content="([^"]+)"')
FORM_CSRF = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"|'
                       rb'name="csrf_token" value="([^"]+)"')
KEY = re.compile(rb'name="key" value="([0-9a-f]+)"')
CHECKED_IN = b'value="check_out"'
# The answer to a check-out here: the confirmation and a link to check in again (no form under
# the finger: a double tap on 簽退 must not check back in). The link opens the form with a fresh
# key; the client makes that key itself (uuid4 hex, as the page does) instead of fetching it.
CHECKED_OUT = b'class="checkin-again"'
OK = b"confirm-ok"


# --- a small HTTP/1.1 keep-alive client ---------------------------------------------------------

class Connection:
    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes = b"",
                      cookies: dict | None = None, extra: tuple[str, ...] = ()) -> tuple[int, dict, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                 "User-Agent: hourbook-bench/1", "Accept-Language: zh-TW,zh;q=0.9"]
        if cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
        lines += extra
        if method == "POST":
            lines += ["Content-Type: application/x-www-form-urlencoded",
                      f"Content-Length: {len(body)}"]
        try:
            self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            status = int(status_line.split(" ", 2)[1])
            headers: dict = {"set-cookie": []}
            for line in header_lines:
                if not line:
                    continue
                name, _, value = line.partition(":")
                name, value = name.strip().lower(), value.strip()
                if name == "set-cookie":
                    headers["set-cookie"].append(value)
                else:
                    headers[name] = value
            if headers.get("transfer-encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    chunks.append(await self.reader.readexactly(size + 2))
                    if size == 0:
                        break
                data = b"".join(c[:-2] for c in chunks)
            else:
                data = await self.reader.readexactly(int(headers.get("content-length", 0)))
        except BaseException:
            self.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, data


def update_jar(jar: dict, headers: dict) -> None:
    for cookie in headers["set-cookie"]:
        pair = cookie.split(";", 1)[0]
        name, _, value = pair.partition("=")
        if value and "01 jan 1970" not in cookie.lower() and "max-age=0" not in cookie.lower():
            jar[name.strip()] = value.strip()
        else:
            jar.pop(name.strip(), None)


# --- the run ----------------------------------------------------------------------------------

@dataclass
class Sample:
    end: float  # loop time the response was complete
    latency: float
    action: str
    status: int
    ok: bool


@dataclass
class Phase:
    name: str
    samples: list[Sample] = field(default_factory=list)
    exceptions: int = 0
    resyncs: int = 0
    windows: list[tuple[float, float]] = field(default_factory=list)
    cpu: dict = field(default_factory=dict)
    ok_counts: dict = field(default_factory=lambda: {"check_in": 0, "check_out": 0})
    # every acknowledged action: (email, action, idempotency key, loop time) — the fault
    # scripts check each one is in the database
    acks: list = field(default_factory=list)


@dataclass
class Vol:
    email: str
    jar: dict = field(default_factory=dict)
    csrf: str = ""
    key: str = ""
    checked_in: bool = False


def parse_page(vol: Vol, body: bytes) -> bool:
    """Take the CSRF token, idempotency key and state from a check-in page or from the panel htmx
    swaps in after a POST (the panel has no CSRF meta: the page's token stays); False if neither."""
    csrf, key = CSRF_META.search(body), KEY.search(body)
    if not key or not (csrf or vol.csrf):
        return False
    if csrf:
        vol.csrf = csrf.group(1).decode()
    vol.key = key.group(1).decode()
    vol.checked_in = CHECKED_IN in body
    return True


class Driver:
    """Runs one endpoint's clients for one slice of time; samples and CPU add up over slices."""

    def __init__(self, args, port: int, seeded: benchlib.Seeded, phase: Phase, cpu_probe):
        self.args, self.port, self.seeded, self.phase = args, port, seeded, phase
        self.cpu_probe = cpu_probe
        self.clients: list = []

    async def run(self, worker, seconds: float, record: bool = True) -> None:
        """All clients loop for `seconds`, then finish their request in flight (not counted)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        end = start + seconds
        before = self.cpu_probe()
        tasks = [asyncio.create_task(worker(i, end)) for i in range(self.args.clients)]
        await asyncio.sleep(max(0.0, end - loop.time()))
        after = self.cpu_probe()
        await asyncio.wait_for(asyncio.gather(*tasks), self.args.timeout + 30)
        if record:
            self.phase.windows.append((start, end))
            for k in after:
                self.phase.cpu[k] = self.phase.cpu.get(k, 0.0) + after[k] - before[k]

    async def timed(self, conn: Connection, action: str, path: str, body: bytes,
                    cookies: dict | None = None, extra: tuple[str, ...] = ()) -> tuple[int, dict, bytes] | None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            status, headers, data = await asyncio.wait_for(
                conn.request("POST", path, body, cookies, extra), self.args.timeout)
        except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            conn.close()
            t1 = loop.time()
            self.phase.exceptions += 1
            self.phase.samples.append(Sample(t1, t1 - t0, action, 0, False))
            return None
        t1 = loop.time()
        return status, headers, data, t0, t1

    # minimal endpoint: one connection per client, a fresh key per request
    async def stagger(self, i: int) -> None:
        """With --think, clients start a slice spread over one pause, as phones arrive, not
        all in the same millisecond (a lockstep start queues 32 requests at once in every
        slice, which is the load generator's doing, not the offered load's)."""
        if self.args.think:
            await asyncio.sleep(self.args.think * i / self.args.clients)

    async def minimal_client(self, i: int, end: float) -> None:
        loop = asyncio.get_running_loop()
        await self.stagger(i)
        conn = Connection(self.port)
        token = self.seeded.site_tokens[i % len(self.seeded.site_tokens)]
        path = f"/m/{token}"
        while loop.time() < end:
            result = await self.timed(conn, "minimal", path,
                                      urlencode({"key": uuid.uuid4().hex}).encode())
            if result is None:
                continue
            status, _, data, t0, t1 = result
            self.phase.samples.append(Sample(t1, t1 - t0, "minimal", status,
                                             status == 200 and data.startswith(b"ok")))
            if self.args.think:
                await asyncio.sleep(self.args.think)
        conn.close()

    # the app: sign in each of this client's volunteers, then check in / out round-robin
    async def sign_in(self, conn: Connection, vol: Vol, site_path: str) -> None:
        status, headers, body = await conn.request("GET", "/sign-in", cookies=vol.jar)
        update_jar(vol.jar, headers)
        token = CSRF_META.search(body)
        if status != 200 or not token:
            raise RuntimeError(f"sign-in page: {status}")
        form = urlencode({"csrf_token": token.group(1).decode(), "email": vol.email,
                          "password": benchlib.BENCH_PASSWORD}).encode()
        status, headers, body = await conn.request("POST", "/sign-in", form, vol.jar)
        update_jar(vol.jar, headers)
        if status != 302:
            raise RuntimeError(f"sign-in of {vol.email} answered {status}: {body[:300]!r}")
        await self.resync(conn, vol, site_path)

    async def resync(self, conn: Connection, vol: Vol, site_path: str) -> None:
        status, headers, body = await asyncio.wait_for(
            conn.request("GET", site_path, cookies=vol.jar), self.args.timeout)
        update_jar(vol.jar, headers)
        if status != 200 or not parse_page(vol, body):
            raise RuntimeError(f"check-in page for {vol.email}: {status} {body[:300]!r}")

    async def prepare(self, per_client: int) -> list[tuple[Connection, list[Vol], str]]:
        """Sign every client's volunteers in (not measured)."""
        clients = []
        for i in range(self.args.clients):
            emails = self.seeded.emails[i::self.args.clients]  # each volunteer: one client
            token = self.seeded.site_tokens[i % len(self.seeded.site_tokens)]
            clients.append((Connection(self.port), [Vol(e) for e in emails], f"/s/{token}"))

        async def sign_in_all(conn, vols, path):
            for vol in vols:
                await asyncio.wait_for(self.sign_in(conn, vol, path), self.args.timeout)
            conn.close()  # measured phase starts on a fresh keep-alive connection

        await asyncio.gather(*(sign_in_all(*c) for c in clients))
        self.clients = clients
        return clients

    async def floor_client(self, i: int, end: float) -> None:
        """--floor: the check-in clients' signed-in volunteers, round-robin, POST to
        /bench/floor (their session cookie, the page's CSRF token as htmx sends it) on a
        connection of their own to the floor server."""
        loop = asyncio.get_running_loop()
        _, vols, _ = self.clients[i]
        conn = Connection(self.port)
        n = 0
        await self.stagger(i)
        while loop.time() < end:
            vol = vols[n % len(vols)]
            n += 1
            result = await self.timed(conn, "floor", "/bench/floor", b"key=x", vol.jar,
                                      ("HX-Request: true", f"X-CSRFToken: {vol.csrf}"))
            if result is None:
                continue
            status, headers, body, t0, t1 = result
            update_jar(vol.jar, headers)
            self.phase.samples.append(Sample(t1, t1 - t0, "floor", status,
                                             status == 200 and body == b"ok"))
            if self.args.think:
                await asyncio.sleep(self.args.think)
        conn.close()

    async def checkin_client(self, i: int, end: float) -> None:
        loop = asyncio.get_running_loop()
        conn, vols, path = self.clients[i]
        items = self.seeded.item_ids
        n = 0
        await self.stagger(i)
        while loop.time() < end:
            vol = vols[n % len(vols)]
            n += 1
            action = "check_out" if vol.checked_in else "check_in"
            form = {"csrf_token": vol.csrf, "action": action, "key": vol.key}
            if action == "check_in":
                form["item_id"] = str(items[(i + n) % len(items)])
            # as the page's htmx sends it: the panel comes back, not the whole page
            result = await self.timed(conn, action, path, urlencode(form).encode(), vol.jar,
                                      ("HX-Request: true", f"X-CSRFToken: {vol.csrf}"))
            ok = False
            if result is not None:
                status, headers, body, t0, t1 = result
                update_jar(vol.jar, headers)
                want = CHECKED_IN if action == "check_in" else CHECKED_OUT
                ok = status == 200 and OK in body and want in body
                self.phase.samples.append(Sample(t1, t1 - t0, action, status, ok))
                if ok:
                    self.phase.ok_counts[action] += 1
                    self.phase.acks.append((vol.email, action, form["key"], t1))
                if ok and action == "check_out":
                    vol.key, vol.checked_in, parsed = uuid.uuid4().hex, False, True
                else:
                    parsed = parse_page(vol, body)
                if self.args.think:
                    await asyncio.sleep(self.args.think)
            if result is None or not ok or not parsed:
                # find out where this volunteer really stands before the next request
                self.phase.resyncs += 1
                try:
                    await self.resync(conn, vol, path)
                except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError, RuntimeError):
                    conn.close()
                    await asyncio.sleep(0.05)
        conn.close()


# --- servers ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, app_spec: str, db_url: str, args, log_dir: Path, chdir: Path | None = None,
                 port: int | None = None, secret: str | None = None, env_extra: dict | None = None):
        self.port = port or free_port()
        self.log = log_dir / f"gunicorn-{app_spec.split(':')[0]}-{self.port}-{time.time():.0f}.log"
        self.settings = gunicorn_settings(args)
        cmd = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", *self.settings,
               "--log-level", "warning", "--error-logfile", "-"]
        if chdir:
            cmd += ["--chdir", str(chdir)]
        cmd.append(app_spec)
        env = dict(os.environ, HOURBOOK_DATABASE_URL=db_url,
                   HOURBOOK_SECRET_KEY=secret or secrets.token_hex(32),
                   HOURBOOK_LOGIN_LIMIT="1000000 per minute",
                   PYTHONDONTWRITEBYTECODE="1", **(env_extra or {}))
        # a process group of its own: kill_hard() takes the master and every worker at once
        self.proc = subprocess.Popen(cmd, cwd=code_root(), env=env, start_new_session=True,
                                     stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET /favicon-check HTTP/1.0\r\n\r\n")
                    if s.recv(12).startswith(b"HTTP/"):
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {self.log.read_text()[-3000:]}")

    def kill_hard(self) -> None:
        """kill -9 the master and all its workers (a power cut for the app server)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def gunicorn_settings(args) -> list[str]:
    settings = ["-w", str(args.workers), "-k", args.worker_class, "--backlog", "2048"]
    if args.worker_class == "gthread":
        settings += ["--threads", str(args.threads), "--keep-alive", "10"]
        # A gthread worker accepts every connection it can while the others sleep, and a
        # keep-alive connection stays with the worker that accepted it: 32 connections opened
        # at once landed mostly on one worker (one process at 100 % of a core, the other
        # nearly idle, for both endpoints). Capping each worker at its share spreads them.
        per_worker = args.worker_connections or -(-args.clients // args.workers)
        settings += ["--worker-connections", str(per_worker)]
    return settings


def cpu_probe_for(*servers: Gunicorn):
    """CPU seconds so far: the gunicorn servers (master + workers), PostgreSQL's processes,
    this load generator, and the whole machine (everyone's, from /proc/stat)."""
    def probe():
        return {"server": sum(benchlib.cpu_seconds(s.proc.pid) for s in servers),
                "postgres": benchlib.cpu_seconds(name="postgres"),
                "loadgen": time.process_time(),
                "machine": benchlib.machine_busy_seconds()}
    return probe


async def wait_quiet(args, probe) -> str:
    """Wait (at most --wait-quiet seconds) until other processes leave the cores alone."""
    if args.wait_quiet <= 0:
        return "not waited for"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.wait_quiet
    calm, share = 0, 0.0
    while loop.time() < deadline:
        before, t0 = probe(), loop.time()
        await asyncio.sleep(2)
        after, span = probe(), loop.time() - t0
        ours = sum(after[k] - before[k] for k in ("server", "postgres", "loadgen"))
        share = max(0.0, (after["machine"] - before["machine"] - ours) / span * 100)
        calm = calm + 1 if share < args.quiet_below else 0
        if calm >= 3:
            return f"quiet (others {share:.0f} % of a core) after waiting"
    return f"NOT quiet after {args.wait_quiet:g} s (others {share:.0f} % of a core)"


# --- reporting --------------------------------------------------------------------------------

def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[rank]


def summarise(phase: Phase, actions: tuple[str, ...]) -> dict:
    span = sum(hi - lo for lo, hi in phase.windows)
    inside = [s for s in phase.samples if s.action in actions
              and any(lo <= s.end < hi for lo, hi in phase.windows)]
    lat = sorted(s.latency for s in inside)
    return {
        "requests": len(inside),
        "rps": len(inside) / span,
        "ok_rps": sum(s.ok for s in inside) / span,
        "p50": percentile(lat, 50) * 1000,
        "p99": percentile(lat, 99) * 1000,
        "max": (lat[-1] * 1000) if lat else float("nan"),
        "errors": sum(not s.ok for s in inside),
        "errors_total": sum(not s.ok for s in phase.samples if s.action in actions),
        "error_statuses": dict(sorted(Counter(s.status for s in phase.samples
                                              if s.action in actions and not s.ok).items())),
    }


def cpu_shares(phase: Phase) -> dict:
    span = sum(hi - lo for lo, hi in phase.windows) or 1.0
    share = {k: v / span * 100 for k, v in phase.cpu.items()}
    share["others"] = max(0.0, share["machine"] - share["server"] - share["postgres"]
                          - share["loadgen"])
    requests = sum(1 for s in phase.samples if any(lo <= s.end < hi for lo, hi in phase.windows))
    share["per_request_ms"] = ((phase.cpu["server"] + phase.cpu["postgres"]) * 1000 / requests
                               if requests else float("nan"))
    return share


def machine_description() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({model}), {mem:.0f} GB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def database_version(engine) -> str:
    if engine.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
    with engine.connect() as conn:
        return "PostgreSQL " + conn.scalar(text("SHOW server_version")).split()[0]


# --- main -------------------------------------------------------------------------------------

def run_backend(backend: str, args, log_dir: Path) -> dict:
    out: dict = {"backend": backend}
    per_client = args.volunteers_per_client
    with benchlib.fresh_database(backend, args.pg_url) as (url, where):
        engine = make_engine(url)
        out["db_version"] = database_version(engine)
        t = time.perf_counter()
        with engine.begin() as conn:
            seeded = benchlib.seed_unit(conn, sites=args.sites)
            benchlib.seed_volunteers(conn, seeded, args.volunteers or args.clients * per_client,
                                     email_pattern="bench{n:04d}@bench.hourbook.tw")
        minimal_app.metadata.create_all(engine)
        print(f"[{backend}] {where}: seeded {len(seeded.volunteer_ids)} insured volunteers with "
              f"accounts, {len(seeded.site_ids)} sites, {len(seeded.item_ids)} items in "
              f"{time.perf_counter() - t:.1f} s", flush=True)

        # Both servers run side by side; the endpoints take turns in slices (A B B A ...),
        # so a change in the machine's load during the run hits both alike.
        secret = secrets.token_hex(32)  # the floor server reads the app's session cookies
        minimal = Gunicorn("minimal_app:create_app()", url, args, log_dir, chdir=BENCH)
        app = Gunicorn(args.app, url, args, log_dir, secret=secret)
        floor = (Gunicorn("floor_app:create_app()", url, args, log_dir, chdir=BENCH, secret=secret)
                 if args.floor else None)
        try:
            probe = cpu_probe_for(*(s for s in (minimal, app, floor) if s))
            m_phase, c_phase, f_phase = Phase("minimal"), Phase("checkin"), Phase("floor")
            m_driver = Driver(args, minimal.port, seeded, m_phase, probe)
            c_driver = Driver(args, app.port, seeded, c_phase, probe)
            f_driver = Driver(args, floor.port, seeded, f_phase, probe) if floor else None

            async def run_all():
                t = time.perf_counter()
                await c_driver.prepare(per_client)
                print(f"[{backend}] signed in {args.clients * per_client} volunteers in "
                      f"{time.perf_counter() - t:.1f} s", flush=True)
                out["quiet"] = await wait_quiet(args, probe)
                turns = [(m_driver, m_driver.minimal_client), (c_driver, c_driver.checkin_client)]
                if f_driver:
                    f_driver.clients = c_driver.clients  # the same signed-in volunteers
                    turns.append((f_driver, f_driver.floor_client))
                for driver, worker in turns:
                    await driver.run(worker, args.warmup, record=False)
                slice_ = args.seconds / args.rounds
                for r in range(args.rounds):
                    for driver, worker in (turns if r % 2 == 0 else turns[::-1]):
                        await driver.run(worker, slice_)
                    print(f"[{backend}] round {r + 1}/{args.rounds} done", flush=True)

            asyncio.run(run_all())
        finally:
            minimal.stop()
            app.stop()
            if floor:
                floor.stop()
        out["minimal"], out["checkin"] = m_phase, c_phase
        if floor:
            out["floor"] = f_phase
        phase = c_phase

        # 3. nothing lost, nothing doubled
        with engine.connect() as conn:
            sessions = conn.scalar(select(func.count()).select_from(ServiceSession))
            closed = conn.scalar(select(func.count()).select_from(ServiceSession)
                                 .where(ServiceSession.checked_out_at.is_not(None)))
            events_ok = dict(conn.execute(
                select(CheckinEvent.action, func.count()).where(CheckinEvent.outcome == Outcome.ok)
                .group_by(CheckinEvent.action)).all())
            minimal_rows = conn.scalar(select(func.count()).select_from(minimal_app.bench_hit))
        ok_in, ok_out = phase.ok_counts["check_in"], phase.ok_counts["check_out"]
        good = sessions == ok_in and closed == ok_out
        out["check"] = {
            "ok": good, "sessions": sessions, "closed": closed, "ok_in": ok_in, "ok_out": ok_out,
            "events_ok": {getattr(k, "value", k): v for k, v in events_ok.items()},
            "minimal_rows": minimal_rows,
            "minimal_ok": sum(s.ok for s in out["minimal"].samples),
        }
        engine.dispose()
    return out


# --- sustained load (--duration): the app alone, every acknowledgement checked -------------------

def verify(engine, phase: Phase) -> dict:
    """What the database holds against what the clients were told.

    lost: acknowledged actions whose idempotency key has no accepted event of that action;
    orphans: accepted check-ins without a session / sessions without their accepted check-in /
    closed sessions without an accepted check-out or closed before they were opened (half-written);
    doubled: volunteers with more than one open session."""
    with engine.connect() as conn:
        sessions = conn.execute(select(ServiceSession.id, ServiceSession.volunteer_id,
                                       ServiceSession.checked_in_at,
                                       ServiceSession.checked_out_at)).all()
        events = conn.execute(select(CheckinEvent.idempotency_key, CheckinEvent.action,
                                     CheckinEvent.session_id)
                              .where(CheckinEvent.outcome == Outcome.ok)).all()
    by_key = {e.idempotency_key: e for e in events if e.idempotency_key}
    lost = [a for a in phase.acks if a[2] not in by_key
            or getattr(by_key[a[2]].action, "value", by_key[a[2]].action) != a[1]]
    in_sessions = {e.session_id for e in events
                   if getattr(e.action, "value", e.action) == "check_in"}
    out_sessions = {e.session_id for e in events
                    if getattr(e.action, "value", e.action) == "check_out"}
    ids = {x.id for x in sessions}
    orphans = (sum(1 for sid in in_sessions if sid is None or sid not in ids)
               + sum(1 for x in sessions if x.id not in in_sessions)
               + sum(1 for x in sessions if x.checked_out_at is not None
                     and (x.id not in out_sessions or x.checked_out_at < x.checked_in_at)))
    open_per_volunteer = Counter(x.volunteer_id for x in sessions if x.checked_out_at is None)
    ok_in = sum(1 for a in phase.acks if a[1] == "check_in")
    ok_out = sum(1 for a in phase.acks if a[1] == "check_out")
    return {
        "sessions": len(sessions),
        "closed": sum(1 for x in sessions if x.checked_out_at is not None),
        "open": sum(open_per_volunteer.values()),
        "ok_in": ok_in, "ok_out": ok_out,
        "accepted_in": sum(1 for e in events if getattr(e.action, "value", e.action) == "check_in"),
        "accepted_out": sum(1 for e in events if getattr(e.action, "value", e.action) == "check_out"),
        "lost": len(lost), "lost_examples": lost[:5], "orphans": orphans,
        "doubled": sum(1 for n in open_per_volunteer.values() if n > 1),
    }


def seed_for(args, engine) -> benchlib.Seeded:
    count = args.volunteers or args.clients * args.volunteers_per_client
    with engine.begin() as conn:
        seeded = benchlib.seed_unit(conn, sites=args.sites)
        benchlib.seed_volunteers(conn, seeded, count,
                                 email_pattern="bench{n:04d}@bench.hourbook.tw")
    return seeded


def run_sustained(backend: str, args, log_dir: Path) -> dict:
    """--duration: the app alone under --clients clients for --duration seconds."""
    out: dict = {"backend": backend}
    with benchlib.fresh_database(backend, args.pg_url) as (url, where):
        engine = make_engine(url)
        out["db_version"] = database_version(engine)
        seeded = seed_for(args, engine)
        print(f"[{backend}] {where}: {len(seeded.volunteer_ids)} volunteers", flush=True)
        app = Gunicorn(args.app, url, args, log_dir)
        phase = Phase("checkin")
        try:
            probe = cpu_probe_for(app)
            driver = Driver(args, app.port, seeded, phase, probe)

            async def go():
                await driver.prepare(0)
                print(f"[{backend}] signed in; {args.duration:g} s of load", flush=True)
                await driver.run(driver.checkin_client, args.duration)

            asyncio.run(go())
        finally:
            app.stop()
        out["phase"], out["check"] = phase, verify(engine, phase)
        out["volunteers"] = len(seeded.volunteer_ids)
        engine.dispose()
    return out


def sustained_ok(r: dict) -> bool:
    c, summary = r["check"], summarise(r["phase"], ("check_in", "check_out"))
    return (summary["errors_total"] == 0 and c["lost"] == 0 and c["orphans"] == 0
            and c["doubled"] == 0 and c["sessions"] == c["ok_in"] and c["closed"] == c["ok_out"]
            and c["ok_in"] > 0)


def report_sustained(results: list[dict], args) -> str:
    today = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [f"Date: {today}. Machine: {machine_description()}. {code_label()}.",
             f"gunicorn {' '.join(gunicorn_settings(args))}; {args.clients} clients, "
             f"{'no pause' if not args.think else f'{args.think:g} s pause after each response'}, "
             f"{args.duration:g} s.", "",
             "| backend | volunteers | requests | ok/s | p50 ms | p99 ms | max ms | failed requests "
             "| sessions = acknowledged check-ins | closed = acknowledged check-outs | lost | "
             "half-written | doubled open | verdict |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---|"]
    for r in results:
        m, c = summarise(r["phase"], ("check_in", "check_out")), r["check"]
        lines.append(
            f"| {r['backend']} ({r['db_version'].split(' (')[0]}) | {r['volunteers']} | "
            f"{m['requests']} | {m['ok_rps']:.1f} | {m['p50']:.0f} | {m['p99']:.0f} | "
            f"{m['max']:.0f} | {m['errors_total']} {m['error_statuses'] or ''} | "
            f"{c['sessions']} = {c['ok_in']} | {c['closed']} = {c['ok_out']} | {c['lost']} | "
            f"{c['orphans']} | {c['doubled']} | {'PASS' if sustained_ok(r) else 'FAIL'} |")
    return "\n".join(lines)


def report(results: list[dict], args) -> str:
    lines = []
    today = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines.append(f"Date: {today}. Machine: {machine_description()}. {code_label()}.")
    lines.append(f"gunicorn {' '.join(gunicorn_settings(args))}; {args.clients} clients "
                 f"({'closed loop, no pause' if not args.think else f'{args.think:g} s pause after each response'}), "
                 f"{args.warmup:g} s warm-up + {args.seconds:g} s measured per endpoint in "
                 f"{args.rounds} alternating slices; {args.clients * args.volunteers_per_client} "
                 f"volunteers ({args.volunteers_per_client} per client). Machine before measuring: "
                 + "; ".join(f"{r['backend']} {r.get('quiet', '?')}" for r in results) + ".")
    lines.append("")
    lines.append("| backend | endpoint | requests/s | p50 ms | p99 ms | errors | sessions check |")
    lines.append("|---|---|---:|---:|---:|---:|---|")
    verdicts = []
    for r in results:
        b = r["backend"]
        m = summarise(r["minimal"], ("minimal",))
        c = summarise(r["checkin"], ("check_in", "check_out"))
        ci = summarise(r["checkin"], ("check_in",))
        co = summarise(r["checkin"], ("check_out",))
        chk = r["check"]
        mcheck = (f"{chk['minimal_rows']} rows = {chk['minimal_ok']} ok"
                  if chk["minimal_rows"] == chk["minimal_ok"] else
                  f"MISMATCH {chk['minimal_rows']} rows vs {chk['minimal_ok']} ok")
        scheck = (("ok: " if chk["ok"] else "MISMATCH: ")
                  + f"{chk['sessions']} sessions / {chk['ok_in']} check-ins, "
                  f"{chk['closed']} closed / {chk['ok_out']} check-outs")
        lines.append(f"| {b} | minimal: 1 indexed SELECT + 1 INSERT | {m['rps']:.0f} | "
                     f"{m['p50']:.1f} | {m['p99']:.1f} | {m['errors']} | {mcheck} |")
        lines.append(f"| {b} | phone check-in + check-out (POST /s/&lt;token&gt;) | {c['rps']:.0f} "
                     f"| {c['p50']:.1f} | {c['p99']:.1f} | {c['errors']} | {scheck} |")
        lines.append(f"| {b} | &nbsp;&nbsp;of which check in | {ci['rps']:.0f} | {ci['p50']:.1f} "
                     f"| {ci['p99']:.1f} | {ci['errors']} | |")
        lines.append(f"| {b} | &nbsp;&nbsp;of which check out | {co['rps']:.0f} | {co['p50']:.1f} "
                     f"| {co['p99']:.1f} | {co['errors']} | |")
        if "floor" in r:
            f = summarise(r["floor"], ("floor",))
            lines.append(f"| {b} | signed-in POST that does nothing (POST /bench/floor) | "
                         f"{f['rps']:.0f} | {f['p50']:.1f} | {f['p99']:.1f} | {f['errors']} | |")
        ratio = c["rps"] / m["rps"] * 100 if m["rps"] else 0
        cpu_m, cpu_c = cpu_shares(r["minimal"]), cpu_shares(r["checkin"])
        pg = (f", postgres {cpu_m['postgres']:.0f} / {cpu_c['postgres']:.0f}"
              if b == "postgresql" else "")
        verdicts.append(
            f"- {b} ({r['db_version']}): check-in throughput {ratio:.0f} % of the minimal endpoint "
            + (f"(target ≥ 40 %: {'met' if ratio >= 40 else 'MISSED'}); " if not args.think else
               "(both paced by --think: this ratio says nothing); ")
            + f"check-in p99 "
            f"{c['p99']:.0f} ms (target ≤ 100 ms: {'met' if c['p99'] <= 100 else 'MISSED'}); "
            f"sessions {'exact' if chk['ok'] else 'NOT exact'}; failed requests over the whole "
            f"run {c['errors_total']} (by HTTP status, 0 = no answer: {c['error_statuses']}), resyncs {r['checkin'].resyncs}; max latency "
            f"{c['max']:.0f} ms. CPU in % of one core, minimal / check-in: gunicorn "
            f"{cpu_m['server']:.0f} / {cpu_c['server']:.0f}, load generator "
            f"{cpu_m['loadgen']:.0f} / {cpu_c['loadgen']:.0f}{pg}, other processes on the machine "
            f"{cpu_m['others']:.0f} / {cpu_c['others']:.0f} (of {100 * (os.cpu_count() or 1)}); "
            f"CPU per request (gunicorn{' + postgres' if pg else ''}): "
            f"{cpu_m['per_request_ms']:.2f} ms / {cpu_c['per_request_ms']:.2f} ms.")
        if "floor" in r:
            f = summarise(r["floor"], ("floor",))
            cpu_f = cpu_shares(r["floor"])
            verdicts.append(
                f"- {b}: the floor, a signed-in CSRF-checked POST that does nothing, "
                f"{f['rps'] / m['rps'] * 100 if m['rps'] else 0:.0f} % of the minimal endpoint, "
                f"p99 {f['p99']:.0f} ms; CPU per request (gunicorn{' + postgres' if pg else ''}) "
                f"{cpu_f['per_request_ms']:.2f} ms; failed {f['errors_total']}.")
    lines.append("")
    lines.extend(verdicts)
    return "\n".join(lines)


def use_snapshot(code: str, argv: list[str]) -> None:
    """Run everything (seeding, migrations, both servers) from a copy of the app's packages at
    a commit, so that edits in the working tree during a run cannot change what is measured.
    Re-executes this script with PYTHONPATH pointing at the copy (it wins over the editable
    install); a no-op for --code worktree or once done."""
    if code == "worktree" or os.environ.get("HOURBOOK_BENCH_SNAPSHOT"):
        return
    root = benchlib.ROOT
    commit = subprocess.run(["git", "rev-parse", "--short", code], cwd=root, check=True,
                            capture_output=True, text=True).stdout.strip()
    dest = Path(tempfile.mkdtemp(prefix=f"hourbook-bench-code-{commit}-"))
    archive = subprocess.run(["git", "archive", commit, "webapp", "kiosk", "models"], cwd=root,
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    env = dict(os.environ, PYTHONPATH=str(dest), HOURBOOK_BENCH_SNAPSHOT=f"{dest}:{commit}")
    os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *argv], env)


def code_root() -> Path:
    snap = os.environ.get("HOURBOOK_BENCH_SNAPSHOT")
    return Path(snap.rsplit(":", 1)[0]) if snap else benchlib.ROOT


def code_label() -> str:
    snap = os.environ.get("HOURBOOK_BENCH_SNAPSHOT")
    if snap:
        return f"app code: commit {snap.rsplit(':', 1)[1]} (a snapshot)"
    return "app code: the working tree as it was during the run"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--warmup", type=float, default=3, help="per endpoint, not measured")
    p.add_argument("--rounds", type=int, default=3,
                   help="the measured seconds are split into this many slices per endpoint, "
                        "taking turns (A B, B A, A B ...)")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--volunteers-per-client", type=int, default=8)
    p.add_argument("--volunteers", type=int, default=0,
                   help="total volunteers, shared round-robin by the clients (overrides "
                        "--volunteers-per-client)")
    p.add_argument("--duration", type=float, default=0,
                   help="sustained load: the app alone for this many seconds (no minimal "
                        "endpoint, no slices); checks zero failed requests and every "
                        "acknowledged check-in/out in the database")
    p.add_argument("--sites", type=int, default=4)
    # 2 cores: one process per core, a few threads each to overlap database waits, keep-alive.
    # (-w 4 -k sync was slower for both endpoints on both backends here.)
    p.add_argument("--app", default="webapp:create_app()",
                   help="the app's WSGI entry for gunicorn (as deployed by default)")
    p.add_argument("--floor", action="store_true",
                   help="also measure, in the same alternating slices, the app's floor: a "
                        "signed-in volunteer's CSRF-checked POST that does nothing "
                        "(bench/floor_app.py), the most any authenticated POST can reach")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--worker-class", choices=["sync", "gthread"], default="gthread")
    p.add_argument("--threads", type=int, default=4, help="per worker (gthread)")
    p.add_argument("--worker-connections", type=int, default=0,
                   help="connections per gthread worker (default: clients / workers, rounded up)")
    p.add_argument("--timeout", type=float, default=30, help="per request, seconds")
    p.add_argument("--think", type=float, default=0,
                   help="seconds each client pauses after a response (0: closed loop, flat out)")
    p.add_argument("--wait-quiet", type=float, default=0,
                   help="wait at most this many seconds for the machine's other processes to "
                        "calm down before measuring (a shared machine)")
    p.add_argument("--quiet-below", type=float, default=20,
                   help="'quiet': others use less than this %% of one core")
    p.add_argument("--pg-url", default=os.environ.get("HOURBOOK_BENCH_PG_URL",
                                                      benchlib.DEFAULT_PG_URL))
    p.add_argument("--code", default="HEAD",
                   help="git commit whose webapp/, kiosk/, models/ are measured (a snapshot, "
                        "safe from edits during the run), or 'worktree'")
    args = p.parse_args(argv)
    use_snapshot(args.code, argv)
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    log_dir = Path(tempfile.mkdtemp(prefix="hourbook-bench-logs-"))
    if args.duration:
        results = [run_sustained(b, args, log_dir) for b in backends]
        print()
        print(report_sustained(results, args))
        print(f"\n(server logs in {log_dir})")
        if os.environ.get("HOURBOOK_BENCH_SNAPSHOT"):
            shutil.rmtree(code_root(), ignore_errors=True)
        return 0 if all(sustained_ok(r) for r in results) else 1
    results = [run_backend(b, args, log_dir) for b in backends]
    print()
    print(report(results, args))
    print(f"\n(server logs in {log_dir})")
    if os.environ.get("HOURBOOK_BENCH_SNAPSHOT"):
        shutil.rmtree(code_root(), ignore_errors=True)
    # exit 1 when sessions were lost or doubled, or when no check-in got through at all
    return 0 if all(r["check"]["ok"] and r["check"]["ok_in"] > 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
