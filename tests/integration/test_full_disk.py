"""A full disk under PostgreSQL, for real: a tablespace on a 2 MiB tmpfs filled until the server
refuses to extend a file. The refusal reaches a caller as a 503 that names the full disk and the
fix, the rows acknowledged before are all there, and the server goes on serving everything else."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from sutazai.lib.db import POSTGRES_ERRORS
from sutazai.lib.errors import DependencyUnavailable, translated
from sutazai.runtime.postgres import SYSTEM_USER
from tests.conftest import Backends

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None,
                                reason="mounting a small tmpfs needs root")


@pytest.fixture
def tiny_volume() -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="sutazai-full-disk-"))
    parent.chmod(0o711)  # the server's own user walks into it
    volume = parent / "tiny"
    volume.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(volume)], check=True)  # noqa: S607
    try:
        shutil.chown(volume, SYSTEM_USER, SYSTEM_USER)
        yield volume
    finally:
        subprocess.run(["umount", "-l", str(volume)], check=False)  # noqa: S607
        shutil.rmtree(parent, ignore_errors=True)


def test_a_full_disk_is_a_503_naming_the_fix_and_loses_nothing_acknowledged(backends: Backends,
                                                                           tiny_volume: Path) -> None:
    pg = backends.postgres
    space, table = f"tiny_{uuid.uuid4().hex[:8]}", f"filled_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=str(pg.socket_dir), port=pg.port, user="postgres", dbname="postgres",
                         autocommit=True) as admin:
        admin.execute(f"CREATE TABLESPACE {space} LOCATION '{tiny_volume}'")
        admin.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, body text) TABLESPACE {space}")
        admin.execute(f"ALTER TABLE {table} ALTER COLUMN body SET STORAGE EXTERNAL")  # no compression
        acknowledged = 0
        try:
            with pytest.raises(DependencyUnavailable) as refused, translated(POSTGRES_ERRORS):
                for n in range(1, 1000):
                    admin.execute(f"INSERT INTO {table} VALUES (%s, repeat(md5(%s), 1000))",  # noqa: S608
                                  (n, str(n)))
                    acknowledged = n
            assert refused.value.status == 503
            assert "disk is full" in refused.value.detail and "free space on its data volume" in refused.value.detail
            assert "No space left on device" in refused.value.detail  # PostgreSQL's own words, kept
            assert 0 < acknowledged < 999
            ids = [r[0] for r in admin.execute(f"SELECT id FROM {table} ORDER BY id").fetchall()]  # noqa: S608
            assert ids == list(range(1, acknowledged + 1))  # every acknowledged row, and nothing half-written
            assert admin.execute("SELECT count(*) FROM pg_database").fetchone()[0] > 0  # the server serves on
        finally:
            admin.execute(f"DROP TABLE IF EXISTS {table}")
            admin.execute(f"DROP TABLESPACE IF EXISTS {space}")
