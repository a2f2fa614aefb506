"""``tradeflows fetch``: downloads from a local HTTP server on 127.0.0.1 (never the internet),
checked against sha256, cached so a second call does not download again."""

from __future__ import annotations

import http.server
import shutil
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from tradeflows.cli import main
from tradeflows.errors import DataError, SpecificationError
from tradeflows.io import sha256_file
from tradeflows.sources.baci import read_baci
from tradeflows.sources.fetch import REGISTRY, fetch, sources

FIX = Path(__file__).parent / "fixtures" / "sources"
BACI = FIX / "baci" / "BACI_HS92_Y2021_V202401.csv"


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """Serve a copy of tests/fixtures/sources (plus a BACI release zip built from it) on a
    free port of 127.0.0.1; yield (base URL, request log)."""
    root = tmp_path_factory.mktemp("served") / "sources"
    shutil.copytree(FIX, root)
    with zipfile.ZipFile(root / "baci" / "BACI_HS92_V202401.zip", "w") as zf:
        for name in (BACI.name, "country_codes_V202401.csv"):
            zf.write(FIX / "baci" / name, name)
    handler = type("Handler", (_Handler,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            partial(handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def test_fetch_checks_sha256_and_caches(server, tmp_path):
    base, log = server
    url = f"{base}/baci/{BACI.name}"
    expected = sha256_file(BACI)
    before = len(log)
    path = fetch("baci", url=url, sha256=expected, cache_dir=tmp_path, progress=False)
    assert path.read_bytes() == BACI.read_bytes()
    assert path.parent == tmp_path / "baci"
    assert len(log) == before + 1
    again = fetch("baci", url=url, sha256=expected, cache_dir=tmp_path, progress=False)
    assert again == path and len(log) == before + 1  # served from the cache
    assert fetch("baci", url=url, cache_dir=tmp_path, progress=False) == path
    assert len(log) == before + 1
    # the cached copy is usable by the reader (with its country-code file beside it)
    codes = fetch("baci", url=f"{base}/baci/country_codes_V202401.csv", cache_dir=tmp_path,
                  progress=False)
    assert read_baci(path, country_codes=codes)["value_usd"].sum() == \
        pytest.approx(read_baci(BACI)["value_usd"].sum())


def test_fetched_release_zip_is_read_directly(server, tmp_path):
    base, _ = server
    path = fetch("baci", url=f"{base}/baci/BACI_HS92_V202401.zip", cache_dir=tmp_path,
                 progress=False)
    assert path.suffix == ".zip"
    pd.testing.assert_frame_equal(read_baci(path), read_baci(BACI))


def test_fetch_checksum_mismatch_keeps_nothing(server, tmp_path):
    base, _ = server
    url = f"{base}/itpd/ITPD_E_R02.csv"
    with pytest.raises(DataError, match="checksum mismatch") as info:
        fetch("itpd", url=url, sha256="0" * 64, cache_dir=tmp_path, progress=False)
    assert url in str(info.value)
    assert not any((tmp_path / "itpd").glob("*ITPD_E_R02.csv"))


def test_fetch_without_checksum_records_and_verifies_it(server, tmp_path):
    base, log = server
    url = f"{base}/wdi/databank_wdi_gdp.csv"
    path = fetch("wdi", url=url, cache_dir=tmp_path, progress=False)
    record = path.with_name(path.name + ".sha256")
    assert record.read_text().split()[0] == sha256_file(FIX / "wdi" / "databank_wdi_gdp.csv")
    path.write_text("tampered")
    n = len(log)
    with pytest.raises(DataError, match="cached file changed"):
        fetch("wdi", url=url, cache_dir=tmp_path, progress=False)
    assert len(log) == n


def test_fetch_errors(server, tmp_path):
    base, _ = server
    with pytest.raises(SpecificationError, match="unknown source 'gdp'"):
        fetch("gdp", cache_dir=tmp_path)
    with pytest.raises(DataError, match="download failed"):
        fetch("imf", url=f"{base}/imf/missing.json", cache_dir=tmp_path, progress=False)


def test_registry_addresses():
    assert set(sources()) == {"baci", "cepii_gravity", "comtrade", "imf", "itpd", "wdi",
                              "unctad_fdi"}
    assert REGISTRY["baci"].address(None).endswith("BACI_HS92_V202401.zip")
    assert REGISTRY["baci"].address(2023).endswith("BACI_HS92_V202301.zip")
    assert "period=2021" in REGISTRY["comtrade"].address(2021)
    assert all(entry.address(None).startswith("https://") for entry in REGISTRY.values())


def test_cli_fetch(server, tmp_path):
    base, _ = server
    url = f"{base}/baci/{BACI.name}"
    result = CliRunner().invoke(main, ["--quiet", "fetch", "baci", "--url", url, "--sha256",
                                       sha256_file(BACI)], env={"TRADEFLOWS_CACHE":
                                                                str(tmp_path)})
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path.parent == tmp_path / "baci" and path.read_bytes() == BACI.read_bytes()
