"""Shared by the benchmarks and the scale-data generator: throw-away databases, fast bulk
seeding of a unit with sites, items, insured volunteers and their accounts, and CPU counters.

Not part of the app and not imported by it; the benchmarks are not part of the test suite.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from werkzeug.security import generate_password_hash

from models import migrate
from models.base import TAIPEI, make_engine, utcnow
from models.idnumbers import with_check_digit
from models.insurance import CoverKind, InsuranceCover
from models.people import Gender, Role, User, Volunteer
from models.service import ServiceItem, Site
from models.unit import Category, LegalType, Unit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Bench accounts only: a cheap hash computed once and shared, so that seeding hundreds of
# accounts takes milliseconds. The app's own hashing is used for the printed featured accounts.
BENCH_PASSWORD = "bench-password-2026"
CHEAP_HASH_METHOD = "pbkdf2:sha256:1000"

SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝洪郭邱曾廖賴徐周葉蘇莊呂江何蕭羅高潘朱簡鍾彭游詹胡施沈余盧梁趙顏柯翁魏孫戴范方宋鄧杜傅侯曹薛丁卓馬阮董唐藍蔣石古紀姚連馮歐程湯黃田康姜汪白鄒尤巫鐘黎涂龔嚴韓袁金童陸夏柳凃邵錢伍倪溫于譚駱熊任甘秦顧毛章史官萬俞雷粘饒張"
GIVEN = ["淑芬", "美玲", "志明", "俊傑", "雅婷", "家豪", "怡君", "建宏", "秀英", "文雄",
         "麗華", "宗翰", "佩君", "冠宇", "玉蘭", "明德", "惠美", "承恩", "欣怡", "國強",
         "靜宜", "信宏", "月娥", "柏翰", "素珍", "子晴", "金龍", "筱涵", "正雄", "宜蓁",
         "春美", "阿嬌", "振宇", "詩涵", "育誠", "慧玲", "添財", "美惠", "志豪", "淑惠"]
DISTRICTS = ["大安", "萬華", "中正", "信義", "松山", "中山", "大同", "士林", "北投", "內湖",
             "南港", "文山"]
ITEMS = [("SW01", "長者陪伴關懷", "Companionship for elders", Category.social_welfare),
         ("SW02", "共餐與送餐服務", "Shared and delivered meals", Category.social_welfare),
         ("SW03", "活動帶領協助", "Activity assistance", Category.social_welfare),
         ("SW04", "電話問安", "Telephone check-ins", Category.social_welfare),
         ("SW05", "居家環境整理", "Home tidying", Category.social_welfare),
         ("SW06", "課後陪讀", "After-school reading", Category.social_welfare),
         ("GN01", "櫃台諮詢服務", "Reception desk", Category.comprehensive),
         ("GN02", "行政文書協助", "Office assistance", Category.comprehensive)]


# --- throw-away databases ------------------------------------------------------------------

def pg_schema_url(base_url: str, schema: str) -> str:
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def fresh_database(backend: str, pg_url: str = DEFAULT_PG_URL, keep: bool = False):
    """A migrated, empty database: a SQLite file in a temp dir, or a PostgreSQL schema of its
    own. Yields (url, description); removed afterwards unless keep."""
    if backend == "sqlite":
        tmp = Path(tempfile.mkdtemp(prefix="hourbook-bench-"))
        path = tmp / "bench.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        try:
            yield url, str(path)
        finally:
            if not keep:
                shutil.rmtree(tmp, ignore_errors=True)
        return
    if backend != "postgresql":
        raise ValueError("backend must be sqlite or postgresql")
    schema = f"hbbench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_schema_url(pg_url, schema)
    try:
        migrate.upgrade(url)
        yield url, f"schema {schema}"
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def database_size(engine) -> int:
    """Bytes on disk: the SQLite file (+ WAL), or the PostgreSQL schema's tables and indexes."""
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database)
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with engine.connect() as conn:
        return conn.scalar(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')"))


# --- seeding ---------------------------------------------------------------------------------

@dataclass
class Seeded:
    unit_id: int
    site_ids: list[int]
    site_tokens: list[str]
    item_ids: list[int]
    volunteer_ids: list[int] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)  # same order as volunteer_ids


def seed_unit(conn, *, sites: int, name: str = "財團法人臺北市基準測試社會福利基金會",
              rng: random.Random | None = None) -> Seeded:
    """A unit, its sites (no presence radius) and service items, in one connection."""
    rng = rng or random.Random(1)
    unit_id = conn.execute(insert(Unit).values(
        name=name, name_en="Benchmark Social Welfare Foundation, Taipei",
        legal_type=LegalType.juridical_person.value, category=Category.social_welfare.value,
        registration_no="北市社字第 1130000001 號", address="臺北市大安區和平東路二段 100 號",
        phone="02-2700-0000", rounding="none", created_at=utcnow(),
    ).returning(Unit.id)).scalar_one()
    site_rows = []
    for i in range(sites):
        district = DISTRICTS[i % len(DISTRICTS)]
        kind = ("社區關懷據點", "長照服務中心", "日間照顧中心", "服務站")[i % 4]
        site_rows.append(dict(
            unit_id=unit_id, name_zh=f"{district}{kind}{'' if i < len(DISTRICTS) else i}",
            name_en=f"{district} site {i + 1}", address=f"臺北市{district}區測試路 {i + 1} 號",
            token=secrets.token_urlsafe(18), latitude=25.03 + rng.uniform(-0.05, 0.05),
            longitude=121.55 + rng.uniform(-0.05, 0.05), radius_m=None,
            max_session_minutes=720, active=True))
    conn.execute(insert(Site), site_rows)
    item_rows = [dict(unit_id=unit_id, code=code, name_zh=zh, name_en=en, category=cat.value,
                      active=True) for code, zh, en, cat in ITEMS]
    conn.execute(insert(ServiceItem), item_rows)
    seed_training_catalogue(conn, unit_id)
    sites_back = conn.execute(select(Site.id, Site.token).where(Site.unit_id == unit_id)
                              .order_by(Site.id)).all()
    item_ids = list(conn.scalars(select(ServiceItem.id).where(ServiceItem.unit_id == unit_id)
                                 .order_by(ServiceItem.id)))
    return Seeded(unit_id, [s.id for s in sites_back], [s.token for s in sites_back], item_ids)


def seed_volunteers(conn, seeded: Seeded, count: int, *, email_pattern: str,
                    with_accounts: bool = True, joined_before: dt.date | None = None,
                    rng: random.Random | None = None, today: dt.date | None = None,
                    cover_start: dt.date | None = None) -> None:
    """`count` active volunteers with valid ID numbers, an account each (shared cheap hash)
    and an accident-insurance cover valid today. Appends ids and emails to `seeded`."""
    rng = rng or random.Random(2)
    today = today or utcnow().astimezone(TAIPEI).date()
    now = utcnow()
    shared_hash = generate_password_hash(BENCH_PASSWORD, method=CHEAP_HASH_METHOD)
    start = len(seeded.volunteer_ids)
    emails = [email_pattern.format(n=start + i + 1) for i in range(count)]
    user_ids: list[int | None] = [None] * count
    if with_accounts:
        conn.execute(insert(User), [dict(
            unit_id=seeded.unit_id, email=e, display_name="", password_hash=shared_hash,
            role=Role.volunteer.value, active=True, session_token=secrets.token_hex(16),
            created_at=now) for e in emails])
        by_email = dict(conn.execute(select(User.email, User.id).where(User.email.in_(emails))).all())
        user_ids = [by_email[e] for e in emails]
    rows = []
    for i, (email, user_id) in enumerate(zip(emails, user_ids)):
        n = start + i
        female = rng.random() < 0.68  # most volunteers in Taipei welfare units are women
        letter = rng.choice("AAAAFFFHEJ")
        joined = (joined_before or today) - dt.timedelta(days=rng.randrange(30, 3000))
        rows.append(dict(
            unit_id=seeded.unit_id, user_id=user_id, volunteer_no=f"{10001 + n}",
            name_zh=SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))],
            name_en="", gender=(Gender.female if female else Gender.male).value,
            birth_date=dt.date(1945 + rng.randrange(60), rng.randrange(1, 13), rng.randrange(1, 29)),
            phone=f"09{rng.randrange(10**8):08d}", email=email, id_kind="national_id",
            id_number=with_check_digit(  # distinct for n < 10**7 (7919 is prime to 10**7)
                f"{letter}{2 if female else 1}{(n * 7919 + 12345) % 10**7:07d}"),
            card_token=secrets.token_urlsafe(18), pin_hash=None, pin_failures=0,
            status="active", joined_on=joined, exit_reason="",
            record_book_no=f"北市志字第{120000 + n}號" if rng.random() < 0.8 else "",
            created_at=now))
    conn.execute(insert(Volunteer), rows)
    nos = [r["volunteer_no"] for r in rows]
    ids = dict(conn.execute(select(Volunteer.volunteer_no, Volunteer.id).where(
        Volunteer.unit_id == seeded.unit_id, Volunteer.volunteer_no.in_(nos))).all())
    vol_ids = [ids[no] for no in nos]
    covers = []
    for vid, row in zip(vol_ids, rows):
        group = bool(row["record_book_no"])
        covers.append(dict(
            volunteer_id=vid, kind=(CoverKind.group if group else CoverKind.commercial).value,
            insurer="臺灣產物保險" if group else "國泰產險",
            policy_no=f"{'GP' if group else 'CM'}-{today.year}-{vid}",
            starts_on=cover_start or dt.date(today.year, 1, 1),
            ends_on=today + dt.timedelta(days=200), created_at=now))
    conn.execute(insert(InsuranceCover), covers)
    seed_training_records(conn, seeded.unit_id, vol_ids, [r["joined_on"] for r in rows])
    seeded.volunteer_ids.extend(vol_ids)
    seeded.emails.extend(emails)


def seed_training_catalogue(conn, unit_id: int) -> None:
    """The unit's training courses (models.training.CATALOGUE), when the app has them."""
    try:
        from models.training import CATALOGUE, TrainingCourse
    except ImportError:  # an app version before training
        return
    conn.execute(insert(TrainingCourse), [dict(
        unit_id=unit_id, code=c.code, name=c.name, name_en=c.name_en, kind=c.kind.value,
        category=c.category.value if c.category else None, minutes=c.minutes,
        run_by_unit=c.run_by_unit, legacy=c.legacy, active=True) for c in CATALOGUE])


def seed_training_records(conn, unit_id: int, volunteer_ids: list[int],
                          joined: list[dt.date]) -> None:
    """Every volunteer completed basic training and the special training of every category a
    month before joining: the check-in gate lets them serve any of the unit's items."""
    try:
        from models.training import TrainingCourse, TrainingRecord
    except ImportError:
        return
    courses = conn.execute(select(TrainingCourse.id, TrainingCourse.minutes).where(
        TrainingCourse.unit_id == unit_id, TrainingCourse.legacy.is_(False))).all()
    now = utcnow()
    rows = [dict(volunteer_id=vid, course_id=c.id, completed_on=day - dt.timedelta(days=30),
                 minutes=c.minutes, mode="in_person", provider="臺北市政府社會局",
                 certificate_no="", created_at=now)
            for vid, day in zip(volunteer_ids, joined) for c in courses]
    for i in range(0, len(rows), 10_000):
        conn.execute(insert(TrainingRecord), rows[i:i + 10_000])


# --- CPU accounting (Linux /proc) -------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, float] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2:].split()
    ppid, utime, stime = int(rest[1]), int(rest[11]), int(rest[12])
    return name, ppid, (utime + stime) / _TICK


def cpu_seconds(root_pid: int | None = None, name: str | None = None) -> float:
    """CPU seconds used so far by a process and its children, or by all processes called `name`."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (s := _stat(int(entry))) is not None:
            stats[int(entry)] = s
    if name is not None:
        return sum(cpu for n, _, cpu in stats.values() if n == name)
    total, todo, seen = 0.0, [root_pid], set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid][2]
        todo.extend(p for p, (_, ppid, _) in stats.items() if ppid == pid)
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (everyone's processes)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def add_floor_endpoint(app) -> None:
    """POST /bench/floor: what every authenticated POST of the app pays before its own work
    (session cookie, Flask-Login loading the user with their volunteer record, the CSRF check,
    the limiter, the security headers), and nothing else: signed-in volunteers only,
    CSRF-checked, answers "ok", changes nothing. For bench/profile_checkin.py --calls and
    bench/checkin_load.py --floor (through bench/floor_app.py); never part of the app."""
    from flask_login import current_user

    from models.people import Role
    from webapp.access import roles
    from webapp.extensions import writes_late

    def floor():
        return "ok" if current_user.volunteer is not None else "no volunteer"

    app.add_url_rule("/bench/floor", "bench_floor", writes_late(roles(Role.volunteer)(floor)),
                     methods=["POST"])
