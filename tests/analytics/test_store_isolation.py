"""The analytics never touch a write in progress: DuckDB's SQLite scanner (its own copy of SQLite) runs in a
worker process, so it waits for the API's lock instead of rolling back the API's live rollback journal."""

from __future__ import annotations

import sqlite3
import threading
import time

from app import db
from app.analytics.store import analytics
from app.config import Settings


def test_a_read_during_a_write_waits_for_it_and_the_store_stays_whole(tmp_path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path / "data", start_anvil=False)
    db.migrate(settings)
    path = settings.data_dir / "ledger.db"
    writer = sqlite3.connect(path, isolation_level=None, timeout=30)
    writer.execute("PRAGMA journal_mode=DELETE")
    writer.execute("CREATE TABLE scratch (n INTEGER, blob BLOB)")
    writer.execute("BEGIN IMMEDIATE")
    # Enough rows to spill the page cache into the file: the journal is on disk while the write goes on.
    writer.execute(
        "INSERT INTO scratch SELECT value, randomblob(4000) FROM (WITH RECURSIVE r(value) AS "
        "(SELECT 1 UNION ALL SELECT value + 1 FROM r WHERE value < 3000) SELECT value FROM r)"
    )
    assert (settings.data_dir / "ledger.db-journal").exists()

    seen: list[object] = []

    def read() -> None:
        with analytics(settings) as con:
            seen.append(con.execute("SELECT count(*) FROM store.scratch").fetchall()[0][0])

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.5)  # the reader is waiting on the writer's lock by now
    writer.execute("COMMIT")  # before the fix: "disk I/O error" (the scanner had rolled the journal back)
    reader.join(60)
    assert seen == [3000]
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert check.execute("SELECT count(*) FROM scratch").fetchone() == (3000,)
