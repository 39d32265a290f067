"""The baseline of the check-in benchmark: a minimal Flask endpoint on the same database,
engine settings (models.base.make_engine: WAL, busy_timeout, BEGIN IMMEDIATE for writes) and
gunicorn settings as the app. Per request: one indexed SELECT (the site by its poster token,
a unique index) and one INSERT, in one write transaction.

    HOURBOOK_DATABASE_URL=... gunicorn --chdir bench 'minimal_app:create_app()'

The benchmark creates the `bench_hit` table (metadata.create_all) before it starts gunicorn;
it lives only in the benchmark's throw-away database.
"""
from __future__ import annotations

import os

from flask import Flask, abort, request
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, bindparam, select

from models.base import WRITE, make_engine, utcnow
from models.service import Site

metadata = MetaData()
bench_hit = Table(
    "bench_hit", metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, nullable=False),
    Column("key", String(80)),
    Column("at", DateTime, nullable=False),
)


def create_app() -> Flask:
    app = Flask(__name__)
    engine = make_engine(os.environ["HOURBOOK_DATABASE_URL"])
    sites = Site.__table__
    by_token = select(sites.c.id).where(sites.c.token == bindparam("token"))
    add_hit = bench_hit.insert()

    @app.post("/m/<token>")
    def hit(token: str):
        key = request.form.get("key", "")[:80]
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            site_id = conn.execute(by_token, {"token": token}).scalar()
            if site_id is None:
                abort(404)
            conn.execute(add_hit, {"site_id": site_id, "key": key,
                                   "at": utcnow().replace(tzinfo=None)})
        return f"ok {site_id}\n"

    return app
