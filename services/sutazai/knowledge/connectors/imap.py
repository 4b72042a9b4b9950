"""An IMAP mailbox: every message is an item (its UID under the mailbox's UIDVALIDITY, so a
message is read once; one deleted on the server leaves the collection), read without marking it
seen. A message gives one document (its headers and body) and one per attachment of a supported
type; an attachment over the limit is left out with the reason recorded, the message itself is
still synced. Reached only on hosts the operator allowed (SUTAZAI_CONNECTOR_HOSTS), over TLS
unless told otherwise; the password is the connector's secret."""

from __future__ import annotations

import contextlib
import email
import email.policy
import email.utils
import imaplib
import re
import ssl
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

from sutazai.knowledge.connectors.base import (
    ConfigInvalid,
    ItemError,
    ItemRef,
    Listing,
    Piece,
    Skipped,
    SourceUnavailable,
    allowed_host,
)
from sutazai.lib.contracts.knowledge import MEDIA_TYPES

MAX_MESSAGE_BYTES = 100 * 1024 * 1024
"""A message larger than this (or four times the document limit) is not downloaded at all; a
smaller one is, and only its attachments over the document limit are left out."""


class Security(StrEnum):
    tls = "tls"  # IMAPS, port 993
    starttls = "starttls"
    none = "none"  # only for a server on the same host (tests, a local relay)


class ImapConfig(BaseModel):
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=993, ge=1, le=65535)
    security: Security = Security.tls
    username: str = Field(min_length=1, max_length=255)
    mailbox: str = Field(default="INBOX", min_length=1, max_length=255)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)




class ImapSource:
    def __init__(self, config: ImapConfig, *, hosts: Sequence[str], secret: str | None, max_bytes: int) -> None:
        allowed_host(config.host, hosts, what="mail server")
        if config.security is Security.none and config.host not in ("127.0.0.1", "::1", "localhost"):
            raise ConfigInvalid("an IMAP password is sent in the clear only to a server on this host; use "
                                "security 'tls' or 'starttls'")
        if not secret:
            raise ConfigInvalid("an IMAP connector needs the mailbox password as its secret")
        self._config, self._secret, self._max_bytes = config, secret, max_bytes
        self._imap: imaplib.IMAP4 | None = None
        self._validity = ""

    def _open(self) -> imaplib.IMAP4:
        c = self._config
        imap: imaplib.IMAP4 | None = None
        try:
            if c.security is Security.tls:
                imap = imaplib.IMAP4_SSL(c.host, c.port, ssl_context=ssl.create_default_context(),
                                                        timeout=c.timeout_seconds)
            else:
                imap = imaplib.IMAP4(c.host, c.port, timeout=c.timeout_seconds)
                if c.security is Security.starttls:
                    imap.starttls(ssl.create_default_context())
            imap.login(c.username, self._secret)
            status, data = imap.select(_quoted(c.mailbox), readonly=True)
            if status != "OK":
                raise SourceUnavailable(f"the mailbox {c.mailbox!r} cannot be opened: "
                                        f"{(data[0] or b'').decode(errors='replace')}")
            status, validity = imap.response("UIDVALIDITY")
            self._validity = (validity[0] or b"0").decode() if validity and validity[0] else "0"
        except (imaplib.IMAP4.error, OSError, ssl.SSLError, SourceUnavailable) as exc:
            if imap is not None:
                with contextlib.suppress(imaplib.IMAP4.error, OSError):
                    imap.shutdown()
            if isinstance(exc, SourceUnavailable):
                raise
            raise SourceUnavailable(f"cannot read {c.username}@{c.host}:{c.port}/{c.mailbox}: {exc}") from exc
        return imap

    def listing(self) -> Listing:
        self._imap = self._open()
        try:
            status, data = self._imap.uid("SEARCH", "ALL")
        except (imaplib.IMAP4.error, OSError) as exc:
            raise SourceUnavailable(f"cannot list the messages of {self._config.mailbox}: {exc}") from exc
        if status != "OK":
            raise SourceUnavailable(f"the server refused to list {self._config.mailbox}")
        uids = (data[0] or b"").split()
        prefix = f"{self._config.mailbox}/{self._validity}"
        return Listing(items=[ItemRef(key=f"{prefix}/{int(u)}", version="1") for u in uids])

    def fetch(self, ref: ItemRef) -> Iterator[Piece | Skipped]:
        assert self._imap is not None  # noqa: S101 - listing came first
        uid = ref.key.rsplit("/", 1)[1]
        try:
            status, data = self._imap.uid("FETCH", uid, "(RFC822.SIZE)")
            size = int(re.search(rb"RFC822\.SIZE (\d+)", data[0] or b"").group(1))  # type: ignore[union-attr]
            if size > max(4 * self._max_bytes, MAX_MESSAGE_BYTES):
                raise ItemError(ref.key, f"the message is {size:,} bytes, more than SutazAI downloads "
                                         f"({max(4 * self._max_bytes, MAX_MESSAGE_BYTES):,}: four times "
                                         "SUTAZAI_MAX_DOCUMENT_BYTES, at least 100 MB); skipped")
            status, data = self._imap.uid("FETCH", uid, "(BODY.PEEK[])")
        except (imaplib.IMAP4.error, OSError, AttributeError, ValueError) as exc:
            raise ItemError(ref.key, f"cannot fetch the message: {exc}") from exc
        raw = next((part[1] for part in data if isinstance(part, tuple)), None)
        if status != "OK" or raw is None:
            raise ItemError(ref.key, "the server returned no message (deleted meanwhile?)")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)  # noqa: S101 - the default policy makes EmailMessage
        yield from self._pieces(message)

    def _pieces(self, message: EmailMessage) -> Iterator[Piece | Skipped]:
        subject = str(message.get("Subject", "") or "(no subject)")
        sent = None
        try:
            sent = email.utils.parsedate_to_datetime(str(message["Date"])).date() if message["Date"] else None
        except (TypeError, ValueError):
            sent = None
        headers = "\n".join(f"{h}: {message[h]}" for h in ("Subject", "From", "To", "Cc", "Date") if message[h])
        body_part = message.get_body(preferencelist=("plain", "html"))
        body = ""
        if body_part is not None:
            text = body_part.get_content()
            if body_part.get_content_type() == "text/html":
                from bs4 import BeautifulSoup

                text = BeautifulSoup(text, "html.parser").get_text("\n")
            body = str(text).strip()
        names = []
        for part in message.iter_attachments():
            names.append(part.get_filename() or "attachment")
        listed = f"\n\nAttachments: {', '.join(names)}" if names else ""
        yield Piece(name="", content=f"{headers}\n\n{body}{listed}\n".encode(), filename="message.txt",
                    title=subject, media_type="text/plain", date=sent, tags=("mail",))
        for i, part in enumerate(message.iter_attachments()):
            filename = Path(part.get_filename() or f"attachment-{i + 1}").name
            if Path(filename).suffix.lower() not in MEDIA_TYPES:
                continue
            content = part.get_payload(decode=True)
            if not isinstance(content, bytes):
                continue
            if len(content) > self._max_bytes:
                yield Skipped(name=filename, reason=f"the attachment is {len(content):,} bytes; the limit is "
                                                    f"{self._max_bytes:,} (SUTAZAI_MAX_DOCUMENT_BYTES); the "
                                                    "message was synced without it")
                continue
            yield Piece(name=f"/{i + 1}-{filename}", content=content, filename=filename,
                        title=f"{filename} (attached to \u201c{subject}\u201d)", date=sent, tags=("mail-attachment",))

    def close(self) -> None:
        if self._imap is not None:
            try:
                self._imap.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
            self._imap = None


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
