"""The IMAP connector against Debian's dovecot, started here on 127.0.0.1 with a maildir of its
own: messages and their attachments become documents, a message deleted on the server leaves the
collection, nothing is read twice, and a 50 MB attachment is left out with the reason while its
message is synced."""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from sutazai.runtime.processes import free_port, port_in_use
from tests.integration.conftest import Platform
from tests.integration.knowledge_helpers import auth, search
from tests.integration.test_connectors import CONNECTORS, name, sync_again, synced, wait_ready

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "mia", "mailbox passphrase for tests"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[tuple[int, Path]]:
    """A real IMAP server on 127.0.0.1 (plain IMAP: the password stays on this host), stopped by PID
    at the end; yields its port and the user's maildir. Its folder is outside pytest's private
    temporary folder: dovecot's own users (auth, login) must reach its files."""
    if not Path(DOVECOT).exists():
        pytest.fail("Debian's dovecot-imapd is needed (scripts/test-deps.sh installs it)")
    home = Path(tempfile.mkdtemp(prefix="sutazai-dovecot-"))
    home.chmod(0o755)
    maildir = home / "mail" / USER
    for part in ("cur", "new", "tmp"):
        (maildir / part).mkdir(parents=True)
    root = os.getuid() == 0
    me = getpass.getuser()
    owner = pwd.getpwnam("dovecot") if root else pwd.getpwuid(os.getuid())  # dovecot serves no mail as root
    for path in (home / "mail", maildir, *maildir.iterdir()):
        os.chown(path, owner.pw_uid, owner.pw_gid)
    (home / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    (home / "users").chmod(0o644)
    port = free_port()
    (home / "dovecot.conf").write_text("\n".join([
        f"base_dir = {home}/run", f"state_dir = {home}/state", f"log_path = {home}/dovecot.log",
        f"info_log_path = {home}/dovecot.log", "protocols = imap", "listen = 127.0.0.1", "ssl = no",
        "disable_plaintext_auth = no", "auth_mechanisms = plain login", f"first_valid_uid = {owner.pw_uid}",
        f"default_login_user = {'dovenull' if root else me}", f"default_internal_user = {'dovecot' if root else me}",
        f"default_internal_group = {'dovecot' if root else me}",
        f"mail_location = maildir:{home}/mail/%u",
        "passdb {", "  driver = passwd-file", f"  args = username_format=%u {home}/users", "}",
        "userdb {", "  driver = static", f"  args = uid={owner.pw_uid} gid={owner.pw_gid} home={home}/mail/%u", "}",
        "service imap-login {", "  inet_listener imap {", "    address = 127.0.0.1", f"    port = {port}", "  }",
        "  inet_listener imaps {", "    port = 0", "  }", "}", ""]))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(home / "dovecot.conf")],  # noqa: S603
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while not port_in_use("127.0.0.1", port):
            log = home / "dovecot.log"
            assert process.poll() is None, log.read_text() if log.exists() else "dovecot exited"
            assert time.monotonic() < deadline, "dovecot did not start"
            time.sleep(0.1)
        yield port, maildir
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


def deliver(maildir: Path, subject: str, body: str, attachments: dict[str, bytes] | None = None) -> Path:
    """A message written into the maildir as a mail server delivers it."""
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, "ops@example.org", f"{USER}@example.org"
    message["Date"] = "Thu, 03 Dec 2026 09:30:00 +0000"
    message.set_content(body)
    for filename, content in (attachments or {}).items():
        message.add_attachment(content, maintype="application", subtype="octet-stream", filename=filename)
    path = maildir / "new" / f"{time.time_ns()}.{uuid.uuid4().hex}.test"
    path.write_bytes(message.as_bytes())
    os.chown(path, maildir.stat().st_uid, maildir.stat().st_gid)
    return path


def test_a_mailbox_syncs_messages_and_attachments(platform: Platform, dovecot: tuple[int, Path]) -> None:
    port, maildir = dovecot
    first = deliver(maildir, "Fire drill on Friday", "The fire drill starts at 10:00; meet at the car park.")
    deliver(maildir, "Rota", "The on-call rota for December is attached.",
            {"rota.md": b"# Rota\n\nFiona covers the week of 14 December.\n"})
    deliver(maildir, "Floor plans", "The floor plans are attached.",
            {"plans.txt": b"x" * (50 * 1024 * 1024)})  # 50 MB: over the document limit
    col, ref = f"mail-{uuid.uuid4().hex[:8]}", name()
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=120) as client:
        wrong = client.post(CONNECTORS, json={
            "name": name(), "kind": "imap", "collection": col, "secret": "not the password",
            "config": {"host": "127.0.0.1", "port": port, "security": "none", "username": USER}})
        assert wrong.status_code == 201
        refused = synced(client, wrong.json()["name"])["last_run"]
        assert refused["state"] == "failed" and f"cannot read {USER}@127.0.0.1:{port}/INBOX" in refused["error"]

        response = client.post(CONNECTORS, json={
            "name": ref, "kind": "imap", "collection": col, "secret": PASSWORD, "every_seconds": 3600,
            "config": {"host": "127.0.0.1", "port": port, "security": "none", "username": USER}})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["has_secret"] is True and PASSWORD not in response.text
        run = synced(client, ref)["last_run"]
        assert run["state"] == "done" and (run["seen"], run["added"], run["failed"]) == (3, 3, 0), (run["error"], run)
        (skipped,) = run["errors"]
        assert skipped["item"].endswith("/plans.txt") and "the limit is" in skipped["reason"]
        assert "synced without it" in skipped["reason"]
        docs = wait_ready(client, col, 4)  # three messages and the rota
        titles = sorted(d["title"] for d in docs.values())
        assert titles == ["Fire drill on Friday", "Floor plans", "Rota", "rota.md (attached to \u201cRota\u201d)"]
        hits = search(client, "who covers the week of 14 December", collection=col)
        assert hits and hits[0]["source"].endswith("rota.md")
        assert "From: ops@example.org" in search(client, "fire drill car park", collection=col)[0]["text"]
        next_sync = client.get(f"{CONNECTORS}/{ref}").json()["next_sync_at"]
        assert next_sync is not None  # scheduled an hour on

        first.unlink()  # deleted on the server
        run = sync_again(client, ref)["last_run"]
        assert (run["deleted"], run["unchanged"], run["added"]) == (1, 2, 0), run
        assert len(wait_ready(client, col, 3)) == 3
        assert not search(client, "fire drill", collection=col, mode="keyword")
