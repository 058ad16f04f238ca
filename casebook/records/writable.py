"""Whether SQLite can write a database's files: checked before every transaction.

SQLite in WAL mode maps the database's -shm file into memory. Once that file turns unwritable
under an open connection (made immutable, a read-only remount), the connection's next
transaction, even a read, dies of SIGBUS instead of failing, and takes the page's kernel with
it. So `casebook.records.database` asks the kernel first (`os.access` sees what refuses root
too) and refuses the transaction with a message naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite database URL; None for memory or `file:` URIs, or another backend."""
    name = url.database if url.get_backend_name() == "sqlite" else None
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).expanduser()


def unwritable(path: Path) -> str | None:
    """Why SQLite cannot write the database at `path` (None if it can): a file of it (the
    database, its -wal or -shm) or its folder is read-only, immutable or someone else's."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and not os.access(file, os.W_OK):
            return f"{file} is not writable"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # made on first use: its parent
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    return None
