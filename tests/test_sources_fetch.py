"""``tradeflows fetch``: the registry, checksums pinned on first use, size caps, redirect rules,
one-line errors, the Comtrade key and cap. Every download goes to a server on 127.0.0.1
(tests/_services.py) answering at the publishers' real paths and query strings."""

from __future__ import annotations

import hashlib
import json
import ssl
import warnings
from pathlib import Path

import pandas as pd
import pytest
import trustme
from _services import COMTRADE_TEST_KEY, FIX, start
from click.testing import CliRunner

from tradeflows.cli import main
from tradeflows.errors import DataError, SpecificationError
from tradeflows.io import sha256_file
from tradeflows.sources import registry
from tradeflows.sources.fetch import PinnedChecksumWarning, fetch, sources

IMTS = FIX / "imf" / "imts_sdmx_csv_v1.csv"


@pytest.fixture(scope="module")
def service():
    svc, stop = start()
    yield svc
    stop()


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """An https server on 127.0.0.1 with a certificate from a test CA; yields (service, CA
    bundle path)."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    svc, stop = start(context)
    yield svc, bundle
    stop()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY", "COMTRADE_API_KEY", "IMF_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _fetch(service, source, tmp_path, **kwargs):
    """fetch() from the local service; returns (path, warnings raised)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = fetch(source, cache_dir=tmp_path, progress=False, mirror=service.base, **kwargs)
    return path, [w for w in caught if issubclass(w.category, PinnedChecksumWarning)]


def test_registry_current_releases():
    assert set(sources()) == {"baci", "cepii_gravity", "comtrade", "imf", "itpd", "wdi",
                              "unctad_fdi"}
    assert registry.resolve("baci").url == \
        "https://www.cepii.fr/DATA_DOWNLOAD/baci/data/BACI_HS92_V202601.zip"
    assert registry.resolve("baci", "V202401b").file_name == "BACI_HS92_V202401b.zip"
    assert registry.resolve("itpd").url == \
        "https://www.usitc.gov/data/gravity/itpd_e/r03/ITPDE_R03.zip"
    assert registry.resolve("cepii_gravity").url.endswith("/Gravity_csv_V202211.zip")
    imf = registry.resolve("imf")
    assert imf.url.startswith("https://api.imf.org/external/sdmx/2.1/data/IMF.STA,IMTS/")
    assert ".XG_FOB_USD+MG_CIF_USD..A?" in imf.url
    assert imf.headers["Accept"].startswith("application/vnd.sdmx.data+csv")
    comtrade = registry.resolve("comtrade", "2021").url
    assert "breakdownMode=classic" in comtrade and "period=2021" in comtrade
    assert all(registry.resolve(s).url.startswith("https://") for s in sources())
    for bad in [("baci", "2024"), ("baci", "V2026"), ("itpd", "R3"), ("wdi", "2024")]:
        with pytest.raises(SpecificationError, match="known releases"):
            registry.resolve(*bad)


def test_cli_list():
    result = CliRunner().invoke(main, ["fetch", "--list"])
    assert result.exit_code == 0, result.output
    for text in ("V202601", "1995-2024", "R03", "IMF.STA,IMTS", "breakdownMode=classic",
                 "downloadformat=csv", "V202401b", "Etalab", "CC BY 4.0", "pinned"):
        assert text in result.output


def test_first_download_is_pinned_with_a_warning_then_verified(service, tmp_path):
    path, pinned = _fetch(service, "imf", tmp_path)
    assert path == tmp_path / "imf" / registry.resolve("imf").file_name
    assert path.read_bytes() == IMTS.read_bytes()
    assert len(pinned) == 1 and sha256_file(IMTS) in str(pinned[0].message)
    record = path.with_name(path.name + ".sha256")
    assert record.read_text().split()[0] == sha256_file(IMTS)
    n = len(service.log)
    again, pinned = _fetch(service, "imf", tmp_path)
    assert again == path and not pinned and len(service.log) == n  # from the cache
    path.write_bytes(path.read_bytes().replace(b"850000000", b"950000000"))
    with pytest.raises(DataError, match="cached file changed since it was downloaded"):
        _fetch(service, "imf", tmp_path)


def test_deleted_or_empty_record_is_refused_not_rerecorded(service, tmp_path):
    path, _ = _fetch(service, "imf", tmp_path)
    record = path.with_name(path.name + ".sha256")
    record.write_text("")
    with pytest.raises(DataError, match=r"\.sha256: checksum record is empty"):
        _fetch(service, "imf", tmp_path)
    record.write_text("not-a-checksum  x\n")
    with pytest.raises(DataError, match="expected a sha256"):
        _fetch(service, "imf", tmp_path)
    record.unlink()
    path.write_bytes(b"replaced while the record was gone")
    n = len(service.log)
    with pytest.raises(DataError, match="no checksum record") as info:
        _fetch(service, "imf", tmp_path)
    assert "\n" not in str(info.value) and not record.exists() and len(service.log) == n
    # with the right checksum given, the cached file is checked against it
    with pytest.raises(DataError, match="expected"):
        _fetch(service, "imf", tmp_path, sha256=sha256_file(IMTS))
    path.unlink()
    fresh, pinned = _fetch(service, "imf", tmp_path, sha256=sha256_file(IMTS))
    assert fresh.read_bytes() == IMTS.read_bytes() and not pinned


def test_record_without_file_pins_the_next_download(service, tmp_path):
    path, _ = _fetch(service, "imf", tmp_path)
    record = path.with_name(path.name + ".sha256")
    record.write_text("0" * 64 + "\n")
    path.unlink()
    with pytest.raises(DataError, match="checksum mismatch"):
        _fetch(service, "imf", tmp_path)
    assert not path.exists()


def test_checksum_mismatch_keeps_nothing(service, tmp_path):
    with pytest.raises(DataError, match="checksum mismatch") as info:
        _fetch(service, "itpd", tmp_path, sha256="0" * 64)
    assert "/data/gravity/itpd_e/r03/ITPDE_R03.zip" in str(info.value)
    assert not any((tmp_path / "itpd").iterdir())


def test_one_line_errors_for_bad_addresses_and_options(service, tmp_path):
    local = tmp_path / "x.csv"
    local.write_text("a\n")
    for url in (local.as_uri(), "ftp://127.0.0.1/x.zip", "127.0.0.1/x.zip"):
        with pytest.raises(SpecificationError, match="only http and https") as info:
            fetch("baci", url=url, cache_dir=tmp_path, progress=False)
        assert "\n" not in str(info.value)
    result = CliRunner().invoke(main, ["fetch", "wdi", "--url", local.as_uri()],
                                env={"TRADEFLOWS_CACHE": str(tmp_path)})
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.count("\n") == 1 and "only http and https" in result.output
    with pytest.raises(SpecificationError, match="unknown source 'gdp'"):
        fetch("gdp", cache_dir=tmp_path)
    with pytest.raises(SpecificationError, match="not 64 hex digits"):
        fetch("imf", sha256="abc", cache_dir=tmp_path)
    with pytest.raises(DataError, match="HTTP 404"):
        fetch("imf", url=f"{service.base}/missing.csv", cache_dir=tmp_path, progress=False)


def test_size_caps(service, tmp_path):
    body = b"x" * 5000

    def chunked(handler):  # no Content-Length: the cap is enforced while streaming
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for _ in range(5):
            handler.wfile.write(b"3e8\r\n" + body[:1000] + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")

    service.routes["/big"] = lambda h: h.answer(200, body, "application/octet-stream")
    service.routes["/chunked"] = chunked
    with pytest.raises(DataError, match="announces 5,000 bytes, more than the limit of 4,000"):
        fetch("baci", url=f"{service.base}/big", cache_dir=tmp_path, max_bytes=4000,
              progress=False)
    with pytest.raises(DataError, match="exceeds the limit of 4,000 bytes"):
        fetch("baci", url=f"{service.base}/chunked", cache_dir=tmp_path, max_bytes=4000,
              progress=False)
    assert not any((tmp_path / "baci").iterdir())  # no partial file left
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PinnedChecksumWarning)
        ok = fetch("baci", url=f"{service.base}/chunked", cache_dir=tmp_path, max_bytes=5000,
                   progress=False)
    assert ok.stat().st_size == 5000


def test_redirects_same_host_only(service, tmp_path):
    port = service.base.rsplit(":", 1)[1]
    target = "/data/gravity/itpd_e/r03/ITPDE_R03.zip"
    service.routes["/same-host"] = lambda h: h.redirect(target)
    service.routes["/other-host"] = lambda h: h.redirect(f"http://localhost:{port}{target}")
    service.routes["/to-file"] = lambda h: h.redirect("file:///etc/passwd")
    service.routes["/loop"] = lambda h: h.redirect("/loop")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PinnedChecksumWarning)
        path = fetch("itpd", url=f"{service.base}/same-host", cache_dir=tmp_path,
                     progress=False)
        assert path.read_bytes()[:4] == b"PK\x03\x04"
        with pytest.raises(DataError, match=r"another host \(localhost\).*--allow-redirect"):
            fetch("itpd", url=f"{service.base}/other-host", cache_dir=tmp_path,
                  progress=False)
        allowed = fetch("itpd", url=f"{service.base}/other-host", cache_dir=tmp_path,
                        progress=False, allow_hosts=("localhost",))
        assert allowed.read_bytes() == path.read_bytes()
        with pytest.raises(DataError, match="only http"):
            fetch("itpd", url=f"{service.base}/to-file", cache_dir=tmp_path, progress=False)
        with pytest.raises(DataError, match="more than 5 redirects"):
            fetch("itpd", url=f"{service.base}/loop", cache_dir=tmp_path, progress=False)


def test_https_to_http_redirect_refused(service, tls, tmp_path, monkeypatch):
    secure, bundle = tls
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    target = "/data/gravity/itpd_e/r03/ITPDE_R03.zip"
    secure.routes["/downgrade"] = lambda h: h.redirect(f"{service.base}{target}")
    secure.routes["/secure-same"] = lambda h: h.redirect(target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PinnedChecksumWarning)
        path = fetch("itpd", url=f"{secure.base}/secure-same", cache_dir=tmp_path,
                     progress=False)  # https, same host: followed
        assert path.read_bytes()[:2] == b"PK"
        with pytest.raises(DataError, match="refused a redirect from https to http"):
            fetch("itpd", url=f"{secure.base}/downgrade", cache_dir=tmp_path, progress=False)
        # registry address over https through an https mirror: no redirect, verified TLS
        imf = fetch("imf", cache_dir=tmp_path, progress=False, mirror=secure.base)
    assert imf.read_bytes() == IMTS.read_bytes()


def test_imf_needs_the_csv_accept_header(service, tmp_path, monkeypatch):
    _fetch(service, "imf", tmp_path)
    assert "sdmx.data+csv" in service.log[-1]["headers"]["Accept"]
    assert "Ocp-Apim-Subscription-Key" not in service.log[-1]["headers"]
    monkeypatch.setenv("IMF_API_KEY", "imf-key-31")  # optional key: sent as a header
    _fetch(service, "imf", tmp_path / "keyed")
    assert service.log[-1]["headers"]["Ocp-Apim-Subscription-Key"] == "imf-key-31"
    monkeypatch.delenv("IMF_API_KEY")
    address = registry.resolve("imf").url.replace("https://api.imf.org", service.base)
    # without the registry's headers the service answers SDMX-ML: refused, nothing kept
    import tradeflows.sources.registry as reg

    plain = reg.Source(**{**reg.SOURCES["imf"].__dict__, "headers": ()})
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(reg.SOURCES, "imf", plain)
        with pytest.raises(DataError, match="not SDMX-CSV") as info:
            fetch("imf", url=address, cache_dir=tmp_path / "plain", progress=False)
    assert "\n" not in str(info.value)


def test_comtrade_key_sent_as_header_and_never_printed(service, tmp_path, monkeypatch):
    path, _ = _fetch(service, "comtrade", tmp_path)
    preview_path = service.log[-1]["path"]
    assert "/public/v1/preview/C/A/HS?" in preview_path
    assert "Ocp-Apim-Subscription-Key" not in service.log[-1]["headers"]
    assert json.loads(path.read_text())["count"] == 9
    monkeypatch.setenv("COMTRADE_API_KEY", COMTRADE_TEST_KEY)
    keyed, _ = _fetch(service, "comtrade", tmp_path / "keyed")
    request = service.log[-1]
    assert request["path"].startswith("/data/v1/get/C/A/HS?")
    assert request["headers"]["Ocp-Apim-Subscription-Key"] == COMTRADE_TEST_KEY
    assert COMTRADE_TEST_KEY not in request["path"]
    assert keyed.read_bytes() == path.read_bytes()
    # an API address given with url= is saved with the .json name too
    preview = service.base + preview_path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PinnedChecksumWarning)
        assert fetch("comtrade", url=preview, cache_dir=tmp_path / "u", progress=False
                     ).name.endswith("-HS.json")
    # a redirect to another (allowed) host does not carry the key along
    port = service.base.rsplit(":", 1)[1]
    service.routes["/data/v1/get/C/A/HS"] = lambda h: h.redirect(
        f"http://localhost:{port}{preview_path}")
    try:
        _fetch(service, "comtrade", tmp_path / "moved", allow_hosts=("localhost",))
    finally:
        del service.routes["/data/v1/get/C/A/HS"]
    assert service.log[-2]["headers"]["Ocp-Apim-Subscription-Key"] == COMTRADE_TEST_KEY
    assert "Ocp-Apim-Subscription-Key" not in service.log[-1]["headers"]
    # an address given with url= on another host never receives the key
    other = service.base + request["path"]
    with pytest.raises(DataError, match="HTTP 401"):
        fetch("comtrade", url=other, cache_dir=tmp_path / "url", progress=False)
    assert "Ocp-Apim-Subscription-Key" not in service.log[-1]["headers"]
    monkeypatch.setenv("COMTRADE_API_KEY", "wrong-key-77")
    result = CliRunner().invoke(main, ["--quiet", "fetch", "comtrade", "--mirror",
                                       service.base],
                                env={"TRADEFLOWS_CACHE": str(tmp_path / "wrong")})
    assert result.exit_code == 1 and "HTTP 401" in result.output
    assert "wrong-key-77" not in result.output


def test_comtrade_preview_cap_is_an_error(service, tmp_path):
    record = json.loads((FIX / "comtrade" / "comtrade_api_v1_classic_AZE_2023.json")
                        .read_text())["data"][0]
    full = json.dumps({"elapsedTime": "1 secs", "count": 500, "data": [record] * 500,
                       "error": ""}).encode()
    service.routes["/public/v1/preview/C/A/HS"] = lambda h: h.answer(200, full,
                                                                      "application/json")
    try:
        with pytest.raises(DataError, match="cap of 500: records beyond it would be cut"):
            _fetch(service, "comtrade", tmp_path, release="2021")
    finally:
        del service.routes["/public/v1/preview/C/A/HS"]
    assert not any((tmp_path / "comtrade").iterdir())
    error = json.dumps({"elapsedTime": "0 secs", "count": 0, "data": [],
                        "error": "reporterCode is invalid"}).encode()
    service.routes["/public/v1/preview/C/A/HS"] = lambda h: h.answer(200, error,
                                                                      "application/json")
    try:
        with pytest.raises(DataError, match="reporterCode is invalid"):
            _fetch(service, "comtrade", tmp_path, release="2020")
    finally:
        del service.routes["/public/v1/preview/C/A/HS"]


def test_comtrade_request_at_the_cap_is_split_and_merged(service, tmp_path):
    """The preview answers flowCode=M,X with a full page (500 records: the cap); fetch asks
    for M and X apart and merges them: the same rows as the uncapped answer."""
    from urllib.parse import parse_qs, urlsplit

    from tradeflows.sources.comtrade import read_comtrade

    fixture = FIX / "comtrade" / "comtrade_api_v1_classic_AZE_2023.json"
    records = json.loads(fixture.read_text())["data"]

    def answer(handler):
        flows = parse_qs(urlsplit(handler.path).query)["flowCode"][0].split(",")
        data = [r for r in records if r["flowCode"] in flows]
        if len(flows) > 1:
            data = (data * 500)[:500]  # what a cut answer looks like
        body = json.dumps({"elapsedTime": "1 secs", "count": len(data), "data": data,
                           "error": ""}).encode()
        handler.answer(200, body, "application/json")

    service.routes["/public/v1/preview/C/A/HS"] = answer
    start = len(service.log)
    try:
        path, pinned = _fetch(service, "comtrade", tmp_path, release="2019")
    finally:
        del service.routes["/public/v1/preview/C/A/HS"]
    asked = [parse_qs(urlsplit(r["path"]).query)["flowCode"][0] for r in service.log[start:]]
    assert asked == ["M,X", "M", "X"]
    merged = json.loads(path.read_text())
    assert merged["count"] == len(records) and len(merged["parts"]) == 2
    assert "flowCode=M&" in merged["parts"][0] and "flowCode=X&" in merged["parts"][1]
    assert len(pinned) == 1  # the merged file's checksum is pinned like any download
    assert path.with_name(path.name + ".sha256").read_text().split()[0] == \
        hashlib.sha256(path.read_bytes()).hexdigest()
    key = ["year", "exporter", "importer", "flow"]
    got = read_comtrade(path).sort_values(key).reset_index(drop=True)
    want = read_comtrade(fixture).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)


def test_comtrade_split_request_halves_the_first_list():
    from tradeflows.sources.comtrade import split_request

    base = "https://comtradeapi.un.org/public/v1/preview/C/A/HS?reporterCode=31"
    assert split_request(base + "&period=2021&flowCode=M,X") == [
        base + "&period=2021&flowCode=M", base + "&period=2021&flowCode=X"]
    assert split_request(base + "&period=2019,2020,2021&flowCode=M") == [
        base + "&period=2019,2020&flowCode=M", base + "&period=2021&flowCode=M"]
    assert split_request(base + "&period=2021&flowCode=M") is None


def test_cli_fetch_prints_path_and_pin_warning(service, tmp_path):
    result = CliRunner().invoke(main, ["--quiet", "fetch", "baci", "--mirror", service.base],
                                env={"TRADEFLOWS_CACHE": str(tmp_path)})
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("warning: ") and "pinned sha256" in lines[0]
    path = Path(lines[-1])
    assert path == tmp_path / "baci" / "BACI_HS92_V202601.zip"
    again = CliRunner().invoke(main, ["--quiet", "fetch", "baci", "--mirror", service.base],
                               env={"TRADEFLOWS_CACHE": str(tmp_path)})
    assert again.output.strip() == str(path)
    bad = CliRunner().invoke(main, ["fetch", "baci", "--release", "2024"])
    assert bad.exit_code == 1 and "V202401b" in bad.output
