"""An intranet site: pages crawled from a start URL within its host (and under its path prefix),
as robots.txt allows for our user agent, up to a page limit. A page is an item keyed by its URL
and versioned by its content's hash; linked documents of supported types (PDF, ...) are items too.
A redirect within the host is followed (the page is keyed by where it landed); one to another host
is an error for that page and is not followed; so is a page over the size limit. A crawl stopped
by the page limit removes nothing it did not reach. Reached only on
hosts the operator allowed (SUTAZAI_CONNECTOR_HOSTS)."""

from __future__ import annotations

import hashlib
import urllib.robotparser
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from pydantic import BaseModel, Field

from sutazai.knowledge.connectors.base import (
    ItemError,
    ItemRef,
    Listing,
    Piece,
    Skipped,
    SourceUnavailable,
    allowed_host,
)
from sutazai.lib.contracts.knowledge import MEDIA_TYPES

USER_AGENT = "SutazAI-connector"
MAX_REDIRECTS = 5


class WebConfig(BaseModel):
    url: str = Field(min_length=8, max_length=2048, pattern=r"^https?://", description="where the crawl starts")
    max_pages: int = Field(default=200, ge=1, le=10_000)
    prefix: str | None = Field(default=None, max_length=2048, description="only URLs under this path (default: "
                                                                          "the start URL's folder)")
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)


@dataclass(frozen=True)
class _Page:
    url: str
    content: bytes
    media_type: str


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


class WebSource:
    def __init__(self, config: WebConfig, *, hosts: Sequence[str], max_bytes: int) -> None:
        allowed_host(urlsplit(config.url).hostname, hosts, what="start URL")
        self._config, self._max_bytes = config, max_bytes
        start_path = urlsplit(config.url).path or "/"
        self._prefix = config.prefix or (start_path if start_path.endswith("/") else
                                         str(PurePosixPath(start_path).parent).rstrip("/") + "/")
        self._client = httpx.Client(timeout=config.timeout_seconds, follow_redirects=False, trust_env=False,
                                    headers={"User-Agent": USER_AGENT})
        self._pages: dict[str, _Page] = {}

    def _in_scope(self, url: str) -> bool:
        return (_origin(url) == _origin(self._config.url) and urlsplit(url).scheme in ("http", "https")
                and (urlsplit(url).path or "/").startswith(self._prefix))

    def _robots(self) -> urllib.robotparser.RobotFileParser:
        robots = urllib.robotparser.RobotFileParser()
        try:
            response = self._client.get(urljoin(self._config.url, "/robots.txt"))
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"cannot reach {self._config.url}: {exc}") from exc
        robots.parse(response.text.splitlines() if response.status_code == 200 else [])
        return robots

    def _get(self, url: str) -> tuple[str, httpx.Response]:
        """GET, following redirects only within the crawled host: (the final URL, its response)."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._client.get(url)
            if not response.is_redirect:
                return url, response
            target = urljoin(url, response.headers.get("location", ""))
            if _origin(target) != _origin(self._config.url):
                raise ItemError(url, f"it redirects to {target}, off the crawled host "
                                     f"{urlsplit(self._config.url).netloc}: not followed")
            url = target
        raise ItemError(url, f"more than {MAX_REDIRECTS} redirects")

    def listing(self) -> Listing:
        robots = self._robots()
        out = Listing()
        queue, seen = [urldefrag(self._config.url)[0]], set()
        while queue:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            if not robots.can_fetch(USER_AGENT, url):
                continue
            if len(self._pages) >= self._config.max_pages:
                out.complete = False  # the page limit: what was not reached is not taken as deleted
                break
            try:
                page = self._page(url)
            except ItemError as exc:  # kept if synced before (the sync deletes no item that failed)
                out.errors.append(exc)
                continue
            except httpx.HTTPError as exc:
                out.errors.append(ItemError(url, f"cannot fetch it: {exc}"))
                continue
            if page is None or page.url in self._pages or not self._in_scope(page.url) and page.url != url:
                continue  # gone, or redirected to a page already crawled or outside the prefix
            seen.add(page.url)
            self._pages[page.url] = page
            out.items.append(ItemRef(key=page.url, version=hashlib.sha256(page.content).hexdigest()))
            if page.media_type == "text/html":
                queue.extend(u for u in self._links(page) if u not in seen)
        return out

    def _page(self, url: str) -> _Page | None:
        url, response = self._get(url)
        if response.status_code in (404, 410):
            return None
        if response.status_code != 200:
            raise ItemError(url, f"the server answered {response.status_code}")
        if len(response.content) > self._max_bytes:
            raise ItemError(url, f"the page is {len(response.content):,} bytes; the limit is {self._max_bytes:,}")
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
        if media_type not in MEDIA_TYPES.values():
            media_type = MEDIA_TYPES.get(suffix, "")
        if not media_type:
            return None  # not a document type we read (an image of the layout, a script)
        return _Page(url=url, content=response.content, media_type=media_type)

    def _links(self, page: _Page) -> list[str]:
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(page.content, "html.parser")
        found = []
        for anchor in soup.find_all("a", href=True):
            href = str(anchor.get("href"))
            url = urldefrag(urljoin(page.url, href))[0]
            if self._in_scope(url):
                found.append(url)
        return found

    def fetch(self, ref: ItemRef) -> Iterator[Piece | Skipped]:
        page = self._pages.get(ref.key)
        if page is None:
            raise ItemError(ref.key, "the page was not fetched by this crawl")
        name = PurePosixPath(urlsplit(ref.key).path).name or "index.html"
        yield Piece(name="", content=page.content, filename=name, media_type=page.media_type, tags=("web",))

    def close(self) -> None:
        self._client.close()
