#!/usr/bin/env python
"""Dashboard benchmark at scale: staff pages, "my hours" and the slips batch over real HTTP.

    .venv/bin/python bench/dashboard_bench.py --db both

For each backend: bench/generate.py writes the scale data (default 5,000 volunteers, 20 sites,
1,000,000 sessions) into a fresh database (a SQLite file in a temp dir, or a PostgreSQL schema
of its own, dropped afterwards); gunicorn serves webapp:create_app() on 127.0.0.1
(-w 2 -k gthread --threads 4, like bench/checkin_load.py); the supervisor, the admin and the
busiest volunteer sign in over HTTP (CSRF and all). Then, one request at a time on a keep-alive
connection, --warmup untimed and --requests timed requests of each of:

  queue (supervisor)   GET /dashboard/queue   HX-Request: true
  queue (admin)        GET /dashboard/queue   HX-Request: true
  on-site (supervisor) GET /dashboard/on-site HX-Request: true
  dashboard (sup.)     GET /dashboard/        full page
  my hours (volunteer) GET /me/hours

Then the slips batch as the admin: POST /slips/issue for everyone over the most recent month
in which at least --slips volunteers have verified sessions on no slip (a longer range if no
month has that many), timed; and GET /slips/print.pdf for the first --slips of them, timed.
Memory: peak RSS (VmHWM) of each gunicorn worker after the run.

--db-url reuses an already generated database instead (nothing is generated or dropped; the
slips issued stay issued). Not part of the test suite.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
from sqlalchemy import func, select

from models.base import make_engine, taipei_day_bounds
from models.service import ServiceSession, SessionStatus

ROOT = benchlib.ROOT
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
TARGETS = {"queue": 150.0, "on-site": 150.0, "my hours": 100.0}


# --- HTTP --------------------------------------------------------------------------------------

class Client:
    """One keep-alive connection with its own cookie jar."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.jar: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes, float]:
        h = dict(headers or {})
        if self.jar:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                t0 = time.perf_counter()
                self.conn.request(method, path, body=body, headers=h)
                resp = self.conn.getresponse()
                data = resp.read()
                elapsed = time.perf_counter() - t0
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # the server closed an idle keep-alive connection
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                if attempt == 2:
                    raise
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie":
                k, _, v = value.split(";", 1)[0].partition("=")
                self.jar[k.strip()] = v.strip()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, elapsed

    def csrf(self, path: str) -> str:
        status, _, body, _ = self.request("GET", path)
        m = CSRF_META.search(body.decode())
        if status != 200 or not m:
            raise RuntimeError(f"GET {path}: {status}, no CSRF token")
        return m.group(1)

    def sign_in(self, email: str, password: str) -> None:
        token = self.csrf("/sign-in")
        status, _, body, _ = self.request("POST", "/sign-in", urlencode(
            {"csrf_token": token, "email": email, "password": password}))
        if status != 302:
            raise RuntimeError(f"sign-in of {email} answered {status}: {body[:300]!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, db_url: str, args, log: Path):
        self.port = free_port()
        self.log = log
        self.settings = ["-w", str(args.workers), "-k", "gthread", "--threads", str(args.threads),
                         "--keep-alive", "30", "--timeout", "600"]
        cmd = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", *self.settings,
               "--log-level", "warning", "--error-logfile", "-", "webapp:create_app()"]
        env = dict(os.environ, HOURBOOK_DATABASE_URL=db_url,
                   HOURBOOK_SECRET_KEY=secrets.token_hex(32),
                   HOURBOOK_LOGIN_LIMIT="1000000 per minute", PYTHONDONTWRITEBYTECODE="1")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET /sign-in HTTP/1.0\r\n\r\n")
                    if s.recv(12).startswith(b"HTTP/"):
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {log.read_text()[-3000:]}")

    def workers(self) -> list[int]:
        kids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    raw = Path(f"/proc/{entry}/stat").read_text()
                    if int(raw[raw.rindex(")") + 2:].split()[1]) == self.proc.pid:
                        kids.append(int(entry))
        return sorted(kids)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def memory_kib(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0])
    return out


# --- machine -------------------------------------------------------------------------------------

def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def wait_quiet(max_seconds: float, below: float) -> str:
    """Wait until the whole machine is under `below` % of a core busy for three 2-s windows."""
    if max_seconds <= 0:
        return "not waited for"
    deadline = time.monotonic() + max_seconds
    calm, share = 0, 0.0
    while time.monotonic() < deadline:
        b0, t0 = benchlib.machine_busy_seconds(), time.monotonic()
        time.sleep(2)
        share = (benchlib.machine_busy_seconds() - b0) / (time.monotonic() - t0) * 100
        calm = calm + 1 if share < below else 0
        if calm >= 3:
            return f"quiet (machine {share:.0f} % of a core busy)"
    return f"NOT quiet after {max_seconds:g} s (machine {share:.0f} % of a core busy)"


def loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the run -------------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    rank = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[rank]


def time_requests(client: Client, path: str, headers: dict, warmup: int, n: int,
                  expect: bytes) -> dict:
    lat, size = [], 0
    for i in range(warmup + n):
        status, _, body, elapsed = client.request("GET", path, headers=headers)
        if status != 200 or expect not in body:
            raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
        if i >= warmup:
            lat.append(elapsed * 1000)
            size = len(body)
    return {"p50": percentile(lat, 50), "p95": percentile(lat, 95), "max": max(lat),
            "n": n, "bytes": size}


def pick_period(db_url: str, unit_id: int, need: int) -> tuple[dict, int, str]:
    """The most recent month with at least `need` volunteers having verified, unslipped sessions;
    else the shortest range ending at last month's end that has them."""
    engine = make_engine(db_url)
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    first = today.replace(day=1)

    def count(d_from: dt.date, d_to: dt.date) -> int:
        with engine.connect() as conn:
            return conn.scalar(select(func.count(func.distinct(ServiceSession.volunteer_id))).where(
                ServiceSession.unit_id == unit_id,
                ServiceSession.status == SessionStatus.verified,
                ServiceSession.hour_slip_id.is_(None),
                ServiceSession.checked_in_at >= taipei_day_bounds(d_from)[0],
                ServiceSession.checked_in_at < taipei_day_bounds(d_to)[1]))

    months = []
    m = first
    for _ in range(36):
        m = (m - dt.timedelta(days=1)).replace(day=1)
        nxt = (m + dt.timedelta(days=32)).replace(day=1)
        months.append((m, nxt - dt.timedelta(days=1)))
    try:
        for m_from, m_to in months:
            c = count(m_from, m_to)
            if c >= need:
                return ({"period": "month", "month": m_from.strftime("%Y-%m")}, c,
                        f"month {m_from:%Y-%m}")
        end = months[0][1]
        for m_from, _ in months:
            if (end - m_from).days >= 366:
                break
            c = count(m_from, end)
            if c >= need:
                return ({"period": "range", "date_from": m_from.isoformat(),
                         "date_to": end.isoformat()}, c, f"{m_from} to {end}")
        raise RuntimeError(f"no period of at most 366 days has {need} volunteers to slip")
    finally:
        engine.dispose()


def generate(db_url: str, args, log: Path) -> dict:
    cmd = [sys.executable, str(ROOT / "bench" / "generate.py"), "--db-url", db_url,
           "--volunteers", str(args.volunteers), "--sites", str(args.sites),
           "--sessions", str(args.sessions)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    log.write_text(out.stdout + out.stderr)
    if out.returncode:
        raise RuntimeError(f"generate.py failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return parse_accounts(out.stdout) | {"generate_s": seconds, "generate_out": out.stdout}


def parse_accounts(text: str) -> dict:
    acc = {"password": re.search(r"password for all three: (\S+?)\)", text).group(1)}
    for role in ("admin", "supervisor", "volunteer"):
        acc[role] = re.search(rf"^\s+{role}\s+(\S+)", text, re.MULTILINE).group(1)
    acc["unit_id"] = int(re.search(r"^unit (\d+):", text, re.MULTILINE).group(1))
    m = re.search(r"volunteer\s+\S+\s+\((\d+) sessions\)", text)
    acc["busiest_sessions"] = int(m.group(1)) if m else None
    m = re.search(r"supervisor\s+\S+\s+\(sites (\[[^\]]*\])\)", text)
    acc["supervised"] = m.group(1) if m else "?"
    return acc


def run_backend(backend: str, args, workdir: Path) -> dict:
    result = {"backend": backend}
    with contextlib.ExitStack() as stack:
        if args.db_url:
            db_url = args.db_url
            acc = parse_accounts(Path(args.accounts_from).read_text())
            result["generate_s"] = None
        else:
            db_url, where = stack.enter_context(benchlib.fresh_database(backend, args.pg_url))
            print(f"[{backend}] generating into {where} ...", flush=True)
            acc = generate(db_url, args, workdir / f"generate-{backend}.log")
            result["generate_s"] = acc["generate_s"]
            print(acc["generate_out"], flush=True)
        result["accounts"] = acc
        period, candidates, period_desc = pick_period(db_url, acc["unit_id"], args.slips)
        result["slip_period"] = f"{period_desc} ({candidates} volunteers to slip)"

        print(f"[{backend}] waiting for a quiet machine (at most {args.wait_quiet:g} s) ...",
              flush=True)
        result["quiet"] = wait_quiet(args.wait_quiet, args.quiet_below)
        result["load_before"] = loadavg()
        server = Gunicorn(db_url, args, workdir / f"gunicorn-{backend}.log")
        stack.callback(server.stop)
        result["gunicorn"] = " ".join(server.settings)
        sup, adm, vol = Client(server.port), Client(server.port), Client(server.port)
        sup.sign_in(acc["supervisor"], acc["password"])
        adm.sign_in(acc["admin"], acc["password"])
        vol.sign_in(acc["volunteer"], acc["password"])
        hx = {"HX-Request": "true"}
        plan = [("queue (supervisor)", "queue", sup, "/dashboard/queue", hx),
                ("queue (admin)", "queue", adm, "/dashboard/queue", hx),
                ("on-site (supervisor)", "on-site", sup, "/dashboard/on-site", hx),
                ("on-site (admin)", "on-site", adm, "/dashboard/on-site", hx),
                ("dashboard full page (supervisor)", None, sup, "/dashboard/", {}),
                ("my hours (busiest volunteer)", "my hours", vol, "/me/hours", {})]
        rows = []
        for label, target, client, path, headers in plan:
            print(f"[{backend}] {label} ...", flush=True)
            r = time_requests(client, path, headers, args.warmup, args.requests, b"")
            r.update(label=label, path=path + (" (HX)" if headers else ""),
                     target=TARGETS.get(target) if target else None)
            rows.append(r)
            print(f"    p50 {r['p50']:.1f}  p95 {r['p95']:.1f}  max {r['max']:.1f} ms", flush=True)
        result["rows"] = rows
        phases = {"pages": {pid: memory_kib(pid)["VmHWM"] for pid in server.workers()}}

        # the slips batch, as the admin
        print(f"[{backend}] issuing slips for {period_desc} ...", flush=True)
        token = adm.csrf("/slips/")
        form = {"csrf_token": token, "volunteer": "", "month": "", "date_from": "",
                "date_to": "", **period}
        status, headers, body, issue_s = adm.request("POST", "/slips/issue", urlencode(form))
        if status != 303:
            raise RuntimeError(f"issue answered {status}: {body[:500]!r}")
        # the batch comes back as its serial range: /slips/batch?year=Y&first=A&last=B
        where = dict(re.findall(r"(year|first|last)=(\d+)", headers["location"]))
        year, first, last = int(where["year"]), int(where["first"]), int(where["last"])
        ids = list(range(first, last + 1))  # serial numbers: consecutive within the batch
        phases["issue"] = {pid: memory_kib(pid)["VmHWM"] for pid in server.workers()}
        batch = ids[:args.slips]
        # the batch page itself (for thousands of slips: the list of parts)
        status, _h, _page, _s = adm.request("GET", headers["location"])
        if status != 200:
            raise RuntimeError(f"batch page answered {status}")
        status, headers, pdf, pdf_s = adm.request("GET", "/slips/print.pdf?" + urlencode(
            {"year": year, "first": batch[0], "last": batch[-1]}))
        if status != 200 or not pdf.startswith(b"%PDF"):
            raise RuntimeError(f"print.pdf answered {status}: {pdf[:300]!r}")
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        result["slips"] = {"issued": len(ids), "issue_s": issue_s, "pdf_slips": len(batch),
                           "pdf_s": pdf_s, "pdf_bytes": len(pdf), "pdf_pages": pages}
        print(f"    issued {len(ids)} slips in {issue_s:.1f} s; PDF of {len(batch)} slips "
              f"({pages} pages, {len(pdf) / 2**20:.1f} MiB) in {pdf_s:.1f} s", flush=True)
        result["memory"] = {pid: memory_kib(pid) for pid in server.workers()}
        result["memory_phases"] = phases
        result["memory_master"] = memory_kib(server.proc.pid)
        result["load_after"] = loadavg()
    return result


def report(results: list[dict], args) -> str:
    now = dt.datetime.now(dt.UTC)
    lines = [(f"Run {now:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores ({cpu_model()}), "
             f"Python {platform.python_version()}; {args.volunteers:,} volunteers, "
             f"{args.sites} sites, {args.sessions:,} sessions; {args.warmup} warm-up + "
             f"{args.requests} timed requests each, one at a time."), ""]
    for r in results:
        acc = r["accounts"]
        gen = f"{r['generate_s']:.0f} s" if r["generate_s"] else "reused"
        lines += [f"### {r['backend']}", "",
                  (f"gunicorn `{r['gunicorn']}`; data generated in {gen}; {r['quiet']}; "
                  f"load average (1/5/15 min) {r['load_before']} before, {r['load_after']} after. "
                  f"Supervisor of sites {acc['supervised']}; busiest volunteer has "
                  f"{acc['busiest_sessions']} sessions."), "",
                  "| request | p50 ms | p95 ms | max ms | target | met |",
                  "|---|---:|---:|---:|---|---|"]
        for row in r["rows"]:
            tgt = row["target"]
            met = "—" if tgt is None else ("yes" if row["p95"] <= tgt else "**no**")
            tgt_s = "—" if tgt is None else f"p95 ≤ {tgt:.0f}"
            lines.append(f"| {row['label']} `{row['path']}` | {row['p50']:.1f} | "
                         f"{row['p95']:.1f} | {row['max']:.1f} | {tgt_s} | {met} |")
        s = r["slips"]
        lines.append(f"| issue slips, everyone, {r['slip_period']}: {s['issued']} slips | "
                     f"— | — | {s['issue_s'] * 1000:.0f} | — | — |")
        ok = "yes" if s["pdf_s"] <= 30 else "**no**"
        lines.append(f"| batch PDF of {s['pdf_slips']} slips ({s['pdf_pages']} pages, "
                     f"{s['pdf_bytes'] / 2**20:.1f} MiB) | — | — | {s['pdf_s'] * 1000:.0f} | "
                     f"≤ 30000 | {ok} |")
        for pid, mem in r["memory"].items():
            ok = "yes" if mem["VmHWM"] < 300 * 1024 else "**no**"
            ph = r["memory_phases"]
            lines.append(f"| worker {pid} peak RSS (VmHWM), MiB: after the pages "
                         f"{ph['pages'].get(pid, 0) / 1024:.0f}, after issuing "
                         f"{ph['issue'].get(pid, 0) / 1024:.0f}, after the PDF | — | — | "
                         f"{mem['VmHWM'] / 1024:.0f} | < 300 | {ok} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--pg-url", default=benchlib.DEFAULT_PG_URL)
    p.add_argument("--db-url", help="reuse this generated database (one backend only)")
    p.add_argument("--accounts-from", help="generate.py's output for --db-url")
    p.add_argument("--volunteers", type=int, default=5000)
    p.add_argument("--sites", type=int, default=20)
    p.add_argument("--sessions", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--slips", type=int, default=500)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--wait-quiet", type=float, default=120,
                   help="wait at most this long for the machine to be quiet (0: do not)")
    p.add_argument("--quiet-below", type=float, default=30,
                   help="quiet: the whole machine under this %% of a core busy")
    p.add_argument("--out", help="also write the markdown table here")
    args = p.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if args.db_url:
        backends = [urlsplit(args.db_url).scheme.split("+")[0]]
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"hourbook-dashboard-bench-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    results = [run_backend(b, args, workdir) for b in backends]
    text = report(results, args)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(f"logs in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
