"""``tradeflows fetch SOURCE``: download a published file into a checksummed cache.

Addresses and releases come from ``tradeflows.sources.registry`` (``--release`` picks one,
``--url`` overrides the address, ``--mirror`` fetches the same path and query from another
server). Files land in ``<cache_dir>/<source>/``.

Safety rules, each a one-line ``DataError`` / ``SpecificationError`` when broken:

* Checksums: a published checksum (registry) or ``sha256=`` must match, or nothing is kept.
  Without one, the first download is *pinned*: its sha256 is written beside the file
  (``<file>.sha256``) and a ``PinnedChecksumWarning`` says so. Every later call checks the
  cached file against that record. A cached file whose record is missing or empty is refused
  (never re-recorded silently): delete the file to download it again, or pass ``sha256=``.
  A record without its file pins the next download.
* Sizes: a response larger than the source's ``max_bytes`` (or ``max_bytes=``) is refused,
  by its Content-Length and while streaming; archive members are capped when extracted
  (``tradeflows.sources.archive``).
* Redirects: followed only to the same host, and never from https to http (nor to any other
  scheme), unless ``allow_hosts`` names the other host or ``allow_http=True``.
* Only ``http``/``https`` addresses; ``file://`` and others are refused.
* Keys: ``COMTRADE_API_KEY`` (and ``IMF_API_KEY``, optional for the IMF) is sent as the
  ``Ocp-Apim-Subscription-Key`` header, only to the publisher's host (or the ``mirror`` named
  to stand for it), and never appears in an address or a message. With a Comtrade key the data endpoint is used (100 000 records);
  without it the public preview (500 records). The API v1 has no paging: an answer that
  reaches the cap is asked again in halves of its first list parameter (``flowCode=M,X``,
  then ``period``, ``partnerCode``, ``cmdCode``, ``reporterCode``;
  :func:`tradeflows.sources.comtrade.split_request`) and the parts are merged into one
  file; a request with nothing left to split that still reaches the cap is an error.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from tqdm.auto import tqdm

from tradeflows import __version__
from tradeflows.errors import DataError, SpecificationError
from tradeflows.io import atomic_path, sha256_file, write_text
from tradeflows.sources.registry import COMTRADE_KEYED_URL, SOURCES, resolve

KEY_HEADER = "Ocp-Apim-Subscription-Key"  # both publishers' API gateways read it
# source -> (environment variable holding the subscription key, the only host it is sent to)
KEYS = {"comtrade": ("COMTRADE_API_KEY", "comtradeapi.un.org"),
        "imf": ("IMF_API_KEY", "api.imf.org")}
MAX_REDIRECTS = 5
_SECRET_HEADERS = {KEY_HEADER.lower(), "authorization"}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_EXTENSIONS = {".csv", ".zip", ".json", ".xls", ".xlsx", ".gz", ".txt", ".tsv"}
_KEY_QUERY = re.compile(r"(?i)((?:subscription[-_]?key|api[-_]?key|token|key)=)[^&\s]*")


class PinnedChecksumWarning(UserWarning):
    """A file was downloaded without a known checksum; its sha256 was recorded (pinned)."""


def sources() -> list[str]:
    """Names ``fetch`` accepts."""
    return sorted(SOURCES)


def _file_name(source: str, url: str) -> str:
    """Cache file name for an address given with ``url=``: its last path part, made safe,
    after a short hash of the full address so two addresses never share a file; a path
    without a data-file extension (``.csv``, ``.zip``, ``.json``, ...) gets the source's
    (``.json`` for Comtrade, ``.csv`` for IMF, ``.zip`` for WDI). Readers go by content."""
    base = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or source
    stem = re.sub(r"[^A-Za-z0-9._+-]+", "_", base)
    if Path(stem).suffix.lower() not in _EXTENSIONS:
        stem += Path(SOURCES[source].file_name).suffix
    return f"{hashlib.sha256(url.encode()).hexdigest()[:10]}-{stem}"


def _check_address(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise SpecificationError(f"cannot download {url!r}: only http and https addresses are "
                                 f"fetched (got {scheme or 'no'} scheme); read a local file "
                                 "directly with its reader or tradeflows build --extra")


def _on_mirror(url: str, mirror: str) -> str:
    """``url`` with its scheme and host replaced by the mirror's (path and query kept)."""
    _check_address(mirror)
    m, u = urlsplit(mirror), urlsplit(url)
    return urlunsplit((m.scheme, m.netloc, m.path.rstrip("/") + u.path, u.query, ""))


def _redirect_allowed(current: str, target: str, allow_hosts: tuple[str, ...],
                      allow_http: bool) -> None:
    """Raise ``DataError`` unless a redirect from ``current`` to ``target`` is allowed."""
    cur, new = urlsplit(current), urlsplit(target)
    current, target = _redact(current), _redact(target)
    if new.scheme not in ("http", "https"):
        raise DataError(f"refused a redirect to {target!r}: only http(s) is followed",
                        file=current)
    if cur.scheme == "https" and new.scheme != "https" and not allow_http:
        raise DataError(f"refused a redirect from https to {new.scheme}: {target} (pass "
                        "--allow-http-redirect to accept it)", file=current)
    same = (new.hostname, new.port) == (cur.hostname, cur.port) or (
        new.hostname == cur.hostname and cur.scheme == "http" and new.scheme == "https")
    if not same and new.hostname not in allow_hosts:
        raise DataError(f"refused a redirect to another host ({new.hostname}): {target} "
                        f"(pass --allow-redirect {new.hostname} to accept it)", file=current)


def _read_record(record: Path) -> str:
    text = record.read_text(encoding="utf-8", errors="replace").strip()
    if not text:
        raise DataError("checksum record is empty; expected a sha256 (64 hex digits). Delete "
                        "it and the file beside it to download again", file=record)
    value = text.split()[0].lower()
    if not _HEX64.fullmatch(value):
        raise DataError(f"checksum record holds {value[:70]!r}; expected a sha256 (64 hex "
                        "digits)", file=record)
    return value


def _download(url: str, target: Path, headers: dict[str, str], max_bytes: int, *,
              allow_hosts: tuple[str, ...], allow_http: bool, progress: bool,
              shown: str, source: str, check_pin: str | None, record: Path) -> str:
    """Stream ``url`` into ``target`` (atomically) and return its sha256. ``shown`` is the
    address used in messages (never a secret). The file is checked (``_check_content``) and,
    when ``check_pin`` is given, compared with it before it replaces anything."""
    sent = {"User-Agent": f"tradeflows/{__version__}", **headers}
    current = url
    session = requests.Session()
    try:
        for _ in range(MAX_REDIRECTS + 1):
            resp = session.get(current, headers=sent, stream=True, allow_redirects=False,
                               timeout=(30, 300))
            if not resp.is_redirect:
                break
            nxt = urljoin(current, resp.headers.get("Location", ""))
            resp.close()
            _redirect_allowed(current, nxt, allow_hosts, allow_http)
            if urlsplit(nxt).hostname != urlsplit(current).hostname:
                sent = {k: v for k, v in sent.items() if k.lower() not in _SECRET_HEADERS}
            current = nxt
        else:
            raise DataError(f"more than {MAX_REDIRECTS} redirects", file=shown)
        with resp:
            if resp.status_code != 200:
                raise DataError(f"download failed: HTTP {resp.status_code} {resp.reason}",
                                file=shown)
            announced = resp.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > max_bytes:
                raise DataError(f"the response announces {int(announced):,} bytes, more than "
                                f"the limit of {max_bytes:,} (--max-bytes)", file=shown)
            digest = hashlib.sha256()
            size = 0
            with atomic_path(target) as tmp:
                with open(tmp, "wb") as out, tqdm(
                        total=int(announced) if announced.isdigit() else None, unit="B",
                        unit_scale=True, desc=target.name, disable=not progress) as bar:
                    for chunk in resp.iter_content(1 << 20):
                        size += len(chunk)
                        if size > max_bytes:
                            raise DataError(f"the response exceeds the limit of {max_bytes:,} "
                                            "bytes (--max-bytes); nothing kept", file=shown)
                        digest.update(chunk)
                        out.write(chunk)
                        bar.update(len(chunk))
                _check_content(source, tmp, shown)
                actual = digest.hexdigest()
                if check_pin is not None and actual != check_pin:
                    raise DataError(f"checksum mismatch: the download has sha256 {actual}, "
                                    f"expected {check_pin}; nothing kept", file=shown)
                write_text(f"{actual}  {target.name}\n", record)
    except requests.RequestException as exc:
        text = _redact_text(str(exc), headers)
        raise DataError(f"download failed ({type(exc).__name__}: {text})", file=shown) from None
    finally:
        session.close()
    return actual


def _check_content(source: str, path: Path, shown: str) -> None:
    """Source-specific checks of a response before it is kept (API error pages, caps)."""
    if source == "comtrade":
        from tradeflows.sources.comtrade import check_api_response

        check_api_response(path, shown)
    elif source == "imf":
        from tradeflows.sources.imf import check_sdmx_csv

        check_sdmx_csv(path, shown)


def fetch(source: str, url: str | None = None, sha256: str | None = None, *,
          release: str | None = None, cache_dir: str | Path = ".cache/downloads",
          progress: bool = True, mirror: str | None = None, max_bytes: int | None = None,
          allow_hosts: tuple[str, ...] = (), allow_http: bool = False) -> Path:
    """Download ``source`` (its registry address at ``release``, or ``url``) into
    ``cache_dir/source`` and return the file's path; a cached copy is checked and reused.

    ``sha256``: expected checksum (hex). ``mirror``: a base address (``http://host:port``)
    that serves the same paths and queries as the publisher. ``max_bytes``: largest response
    accepted (default: the registry's limit for the source). ``allow_hosts``: hosts a
    redirect may lead to; ``allow_http``: accept a redirect from https to http.
    """
    if source not in SOURCES:
        raise SpecificationError(f"unknown source {source!r}; expected one of {sources()}")
    if url is not None and release is not None:
        raise SpecificationError("pass either a release or an address (url), not both")
    key_env, key_host = KEYS.get(source, ("", ""))
    key = os.environ.get(key_env, "").strip() if key_env else ""
    if url is None:
        keyed = COMTRADE_KEYED_URL if key and source == "comtrade" else None
        entry = resolve(source, release, keyed)
        address, name, published, headers = entry.url, entry.file_name, entry.sha256, entry.headers
        allow_hosts = (*allow_hosts, *entry.source.allowed_hosts)
    else:
        address, name, published = url, _file_name(source, url), None
        headers = dict(SOURCES[source].headers)
        # the key goes to the publisher only, never to another address given with url=
        key = key if urlsplit(url).hostname == key_host else ""
    if key:
        headers[KEY_HEADER] = key
    _check_address(address)
    shown = _redact(address)
    if mirror:
        address = _on_mirror(address, mirror)
        shown = _redact(address)
    limit = SOURCES[source].max_bytes if max_bytes is None else max_bytes
    if limit <= 0:
        raise SpecificationError(f"max_bytes must be positive, got {limit}")
    if sha256 is not None and not _HEX64.fullmatch(sha256.strip().lower()):
        raise SpecificationError(f"sha256 {sha256!r} is not 64 hex digits")
    expected = (sha256.strip().lower() if sha256 else None) or published
    folder = Path(cache_dir) / source
    target, record = folder / name, folder / f"{name}.sha256"
    if target.exists():
        return _cached(target, record, expected)
    pin = expected or (_read_record(record) if record.exists() else None)
    options = {"allow_hosts": tuple(allow_hosts), "allow_http": allow_http,
               "progress": progress, "source": source}
    try:
        actual = _download(address, target, headers, limit, shown=shown, check_pin=pin,
                           record=record, **options)
    except DataError as exc:
        from tradeflows.sources.comtrade import CapReached

        if not isinstance(exc, CapReached) or split_parts(address) is None:
            raise
        actual = _download_split(address, target, headers, limit, pin, record, options)
    if pin is None:
        warnings.warn(PinnedChecksumWarning(
            f"{shown}: no published checksum; pinned sha256 {actual} on first download "
            f"(recorded in {record.name}); compare it with a trusted copy"), stacklevel=2)
    return target


def split_parts(address: str) -> list[str] | None:
    """A capped Comtrade request's halves (:func:`tradeflows.sources.comtrade.split_request`)."""
    from tradeflows.sources.comtrade import split_request

    return split_request(address)


def _download_split(address: str, target: Path, headers: dict[str, str], limit: int,
                    pin: str | None, record: Path, options: dict) -> str:
    """Fetch the halves of a capped request (halving again where a half is capped), merge
    them into ``target`` and return its sha256 (checked against ``pin``, then recorded)."""
    import json
    import tempfile

    from tradeflows.sources.comtrade import CapReached, merge_answers

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.parts-",
                                     dir=target.parent) as tmp:
        pending, done = list(split_parts(address) or []), []
        while pending:
            part = pending.pop(0)
            path = Path(tmp) / f"part-{len(done)}.json"
            try:
                _download(part, path, headers, limit, shown=_redact(part), check_pin=None,
                          record=Path(tmp) / "unused.sha256", **options)
            except CapReached:
                halves = split_parts(part)
                if halves is None:
                    raise
                pending = halves + pending
                continue
            done.append((part, path))
        merged = merge_answers([p for _, p in done], [_redact(a) for a, _ in done])
        with atomic_path(target) as out:
            out.write_text(json.dumps(merged), encoding="utf-8")
            actual = sha256_file(out)
            if pin is not None and actual != pin:
                raise DataError(f"the merged answer has sha256 {actual}, expected {pin}; "
                                "nothing kept", file=_redact(address))
    write_text(f"{actual}  {target.name}\n", record)
    return actual


def _cached(target: Path, record: Path, expected: str | None) -> Path:
    """Check a cached file against its record (and ``expected``) and return it."""
    actual = sha256_file(target)
    if not record.exists():
        if expected is None:
            raise DataError(f"cached file has no checksum record ({record.name}), so it cannot "
                            "be verified; delete the file to download it again, or pass "
                            "--sha256 to check it", file=target)
        if actual != expected:
            raise DataError(f"cached file has sha256 {actual}, expected {expected}; delete it "
                            "to download again", file=target)
        write_text(f"{actual}  {target.name}\n", record)
        return target
    recorded = _read_record(record)
    if actual != recorded:
        raise DataError(f"cached file changed since it was downloaded: sha256 {actual}, "
                        f"recorded {recorded}; delete it to download again", file=target)
    if expected is not None and expected != recorded:
        raise DataError(f"cached file has sha256 {recorded}, expected {expected}; delete it "
                        "and its .sha256 record to download again", file=target)
    return target


def _redact_text(text: str, headers: dict[str, str]) -> str:
    """``text`` with secret header values and key-like query values hidden."""
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS and value:
            text = text.replace(value, "***")
    return re.sub(_KEY_QUERY, r"\1***", text)


def _redact(url: str) -> str:
    """The address with credentials and key-like query values hidden."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = re.sub(_KEY_QUERY, r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
