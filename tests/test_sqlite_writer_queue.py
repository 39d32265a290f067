"""SQLite writers queue on a file lock (models.base.WriterQueue) instead of polling in SQLite's
busy handler: a writer waits exactly as long as the writer before it, however long that is."""
import threading
import time

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from models.base import begin_write, make_engine, make_sessionmaker
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's write lock only")


@pytest.fixture
def engine(tmp_path):
    # A busy timeout of 50 ms: without the queue, a writer kept waiting longer fails at once.
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.db'}")

    @event.listens_for(engine, "connect")
    def short_busy_timeout(dbapi_connection, _record):  # after make_engine's 10 s
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE tally (n INTEGER)"))
    yield engine
    engine.dispose()


def test_a_writer_waits_for_a_long_writer_instead_of_failing(engine):
    Session = make_sessionmaker(engine)
    first_holds, order = threading.Event(), []

    def long_writer():
        with Session() as session:
            begin_write(session)
            session.execute(text("INSERT INTO tally VALUES (1)"))
            first_holds.set()
            time.sleep(0.5)  # ten times the busy timeout
            order.append("first commits")
            session.commit()

    def second_writer():
        first_holds.wait()
        with Session() as session:
            begin_write(session)  # blocks here until the first has committed
            order.append("second begins")
            session.execute(text("INSERT INTO tally VALUES (2)"))
            session.commit()

    threads = [threading.Thread(target=long_writer), threading.Thread(target=second_writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == ["first commits", "second begins"]
    with engine.connect() as conn:
        assert sorted(conn.scalars(text("SELECT n FROM tally"))) == [1, 2]


def test_the_queue_is_let_go_on_rollback_and_on_close(engine):
    Session = make_sessionmaker(engine)
    session = Session()
    begin_write(session)
    session.rollback()
    other = Session()
    begin_write(other)  # would wait forever if the rollback had kept the queue
    other.execute(text("INSERT INTO tally VALUES (3)"))
    other.close()  # closing without commit rolls back and lets go too
    third = Session()
    begin_write(third)
    third.execute(text("INSERT INTO tally VALUES (4)"))
    third.commit()
    third.close()
    session.close()
    with engine.connect() as conn:
        assert list(conn.scalars(text("SELECT n FROM tally"))) == [4]


def test_a_thread_that_writes_twice_at_once_gets_an_error_not_a_hang(engine):
    Session = make_sessionmaker(engine)
    outer, inner = Session(), Session()
    begin_write(outer)
    started = time.monotonic()
    with pytest.raises(OperationalError, match="locked"):
        begin_write(inner)  # the same thread cannot wait for itself: SQLite's busy timeout
    assert time.monotonic() - started < 2
    inner.close()
    outer.commit()
    outer.close()
