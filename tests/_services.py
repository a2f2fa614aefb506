"""A local stand-in for the publishers' servers, on 127.0.0.1 (never the internet).

Each registry address is answered at its real path and query string with a fixture written
in the service's current format (tests/fixtures/sources); archives are zipped here from the
fixture CSVs with the members the publisher ships. Like the real services, the IMF answers
SDMX-CSV only when asked for it in the Accept header, and the Comtrade data endpoint only with
a subscription key header. Extra routes serve redirects, oversized and lying responses.
"""

from __future__ import annotations

import http.server
import io
import json
import ssl
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tradeflows.sources.registry import COMTRADE_KEYED_URL, SDMX_CSV, resolve

FIX = Path(__file__).parent / "fixtures" / "sources"
COMTRADE_TEST_KEY = "test-key-5f3a9c"


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip archive (deflated) holding ``members`` (name -> content)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2026, 1, 15, 0, 0, 0)), data)
    return buf.getvalue()


def _read(*parts: str) -> bytes:
    return FIX.joinpath(*parts).read_bytes()


def published() -> dict[str, tuple[bytes, str]]:
    """Path+query of each registry address -> (body, content type)."""
    wdi = "API_NY.GDP.MKTP.CD_DS2_en_csv_v2_6298258.csv"
    bodies = {
        "baci": (zip_bytes({
            "BACI_HS92_Y2023_V202601.csv": _read("baci", "BACI_HS92_Y2023_V202601.csv"),
            "BACI_HS92_Y2024_V202601.csv": _read("baci", "BACI_HS92_Y2024_V202601.csv"),
            "country_codes_V202601.csv": _read("baci", "country_codes_V202601.csv"),
            "product_codes_HS92_V202601.csv": _read("baci", "product_codes_HS92_V202601.csv"),
            "Readme.txt": b"BACI HS92 V202601: trade flows 1995-2024 (test fixture)\n"}),
            "application/zip"),
        "cepii_gravity": (zip_bytes({
            "Gravity_V202211.csv": _read("cepii_gravity", "Gravity_V202211.csv")}),
            "application/zip"),
        "itpd": (zip_bytes({"ITPDE_R03.csv": _read("itpd", "ITPDE_R03.csv")}),
                 "application/zip"),
        "imf": (_read("imf", "imts_sdmx_csv_v1.csv"), SDMX_CSV),
        "wdi": (zip_bytes({
            wdi: _read("wdi", wdi),
            f"Metadata_Country_{wdi}": _read("wdi", f"Metadata_Country_{wdi}")}),
            "application/zip"),
        "unctad_fdi": (_read("unctad_fdi", "webdiaeia2014d3_AZE.xls"),
                       "application/vnd.ms-excel"),
    }
    routes = {}
    for name, body in bodies.items():
        parts = urlsplit(resolve(name).url)
        routes[parts.path + (f"?{parts.query}" if parts.query else "")] = body
    comtrade = _read("comtrade", "comtrade_api_v1_classic_AZE_2023.json")
    for template in (None, COMTRADE_KEYED_URL):
        parts = urlsplit(resolve("comtrade", "2023", template).url)
        routes[f"{parts.path}?{parts.query}"] = (comtrade, "application/json")
    return routes


@dataclass
class Service:
    """A running server: ``base`` address, request log, and extra routes to add."""

    base: str
    log: list[dict] = field(default_factory=list)
    routes: dict[str, Callable] = field(default_factory=dict)


def _handler(service: Service, files: dict[str, tuple[bytes, str]]) -> type:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            service.log.append({"path": self.path, "headers": dict(self.headers)})
            path = self.path.split("?")[0]
            if path in service.routes:
                return service.routes[path](self)
            if self.path not in files:
                return self.answer(404, b"not found", "text/plain")
            body, kind = files[self.path]
            if self.path.startswith("/external/sdmx/") and "sdmx.data+csv" not in \
                    self.headers.get("Accept", ""):
                return self.answer(200, b'<?xml version="1.0"?><message:StructureSpecificData/>',
                                   "application/xml")
            if self.path.startswith("/data/v1/get/") and \
                    self.headers.get("Ocp-Apim-Subscription-Key") != COMTRADE_TEST_KEY:
                return self.answer(401, json.dumps({"statusCode": 401, "message":
                                   "Access denied due to missing subscription key."}).encode(),
                                   "application/json")
            self.answer(200, body, kind)

        def answer(self, status: int, body: bytes, kind: str,
                   headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def redirect(self, location: str) -> None:
            self.answer(302, b"", "text/plain", {"Location": location})

        def log_message(self, *args: object) -> None:  # keep the test output clean
            pass

    return Handler


def start(context: ssl.SSLContext | None = None) -> tuple[Service, Callable[[], None]]:
    """Start a server on a free port of 127.0.0.1 (https with ``context``); return the
    service and a function that stops it."""
    scheme = "https" if context else "http"
    service = Service(base="")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(service, published()))
    if context is not None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    service.base = f"{scheme}://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()

    return service, stop
