"""A kiosk offline for an hour with 100 queued events (50 volunteers in and out): when the network
comes back, every event reaches the server exactly once, even when the network drops again in the
middle of the sync — in Chromium, the kiosk's own queue (IndexedDB) and sync loop, the page's
clock moved with Playwright's page.clock."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect
from sqlalchemy import func, select

from models.base import utcnow
from models.checkin import CheckinEvent, Outcome
from models.service import ServiceSession, SessionSource

from .conftest import screenshot
from .test_kiosk_browser import enrol, place, portrait_size, wait_for  # noqa: F401 (fixtures)

VOLUNTEERS = 50

QUEUE = """([events]) => new Promise((resolve, reject) => {
  const open = indexedDB.open("hourbook-kiosk", 1);
  open.onupgradeneeded = () => open.result.createObjectStore("events", {keyPath: "seq", autoIncrement: true});
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const tx = open.result.transaction("events", "readwrite");
    for (const event of events) tx.objectStore("events").add({event});
    tx.oncomplete = () => { open.result.close(); resolve(events.length); };
    tx.onerror = () => reject(tx.error);
  };
})"""

PENDING = """() => new Promise((resolve) => {
  const open = indexedDB.open("hourbook-kiosk", 1);
  open.onsuccess = () => {
    const request = open.result.transaction("events").objectStore("events").count();
    request.onsuccess = () => { open.result.close(); resolve(request.result); };
  };
})"""


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_an_hour_offline_with_100_events_syncs_each_exactly_once(open_page, db, make, unit, place):
    people = [place["volunteer"]] + [make.volunteer(unit, insured=True, commit=False)
                                     for _ in range(VOLUNTEERS - 1)]
    db.commit()
    page = open_page("tablet")
    # the network dropping under htmx's presence refresh and the sync is expected here
    for expected in ("ERR_INTERNET_DISCONNECTED", "htmx:sendError", "htmx:afterRequest",
                     "Failed to fetch"):
        page.allow_console_error(expected)
    went_offline = utcnow() - dt.timedelta(hours=1)
    page.clock.install(time=went_offline)  # the tablet's clock: an hour ago, ticking
    enrol(page, db, place)
    page.context.set_offline(True)
    expect(page.locator("#k-net")).to_have_text("離線中：仍可用 QR 卡或數字鍵盤簽到")

    # During the hour: each volunteer checks in (a card) and out half an hour later. The events
    # are what the kiosk's queueOffline() stores; written straight into its queue.
    events = []
    for i, v in enumerate(people):
        events.append({"key": f"offline-in-{i:03d}", "method": "card", "card": v.card_token,
                       "action": "check_in",
                       "device_time": iso(went_offline + dt.timedelta(seconds=20 * i + 30))})
    for i, v in enumerate(people):
        events.append({"key": f"offline-out-{i:03d}", "method": "card", "card": v.card_token,
                       "action": "check_out",
                       "device_time": iso(went_offline + dt.timedelta(minutes=30, seconds=20 * i + 30))})
    assert page.evaluate(QUEUE, [events]) == 100
    page.clock.fast_forward("01:00:00")  # an hour later, still offline
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    expect(page.locator("#k-net")).to_have_text("離線中：仍可用 QR 卡或數字鍵盤簽到")
    assert db.scalar(select(func.count(CheckinEvent.id))) == 0

    # The network comes back; it drops again in the middle of the sync, then comes back.
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    assert wait_for(lambda: page.evaluate(PENDING) <= 70, timeout=60)
    page.context.set_offline(True)
    page.wait_for_timeout(1500)
    left = page.evaluate(PENDING)
    assert 0 < left < 100
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    assert wait_for(lambda: page.evaluate(PENDING) == 0, timeout=120)
    expect(page.locator("#k-pending")).to_be_hidden()
    expect(page.locator("#k-net")).to_have_text("連線中")
    screenshot(page, "kiosk-after-offline-hour-synced")

    db.rollback()
    accepted = db.execute(select(CheckinEvent.idempotency_key, CheckinEvent.outcome)).all()
    assert sorted(k for k, _ in accepted) == sorted(e["key"] for e in events)  # once each
    assert {o for _, o in accepted} == {Outcome.ok}
    sessions = db.scalars(select(ServiceSession)).all()
    assert len(sessions) == VOLUNTEERS
    assert len({s.volunteer_id for s in sessions}) == VOLUNTEERS
    for s in sessions:
        assert s.checked_out_at is not None and s.source == SessionSource.offline
        # the tablet's times are kept: 30 minutes each, in the hour it was offline
        assert dt.timedelta(minutes=29) <= s.checked_out_at - s.checked_in_at <= dt.timedelta(minutes=31)
        assert went_offline - dt.timedelta(minutes=2) <= s.checked_in_at <= utcnow()

    # A later sync round sends nothing again.
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(1500)
    db.rollback()
    assert db.scalar(select(func.count(CheckinEvent.id))) == 100
