"""Who may reach the portal, what it serves, and that user strings stay text."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from tests.portal.conftest import XSS, serving

from hyperpipe.exceptions import ConfigError
from hyperpipe.portal._security import check_binding, is_loopback

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi.testclient import TestClient
    from playwright.sync_api import Browser
    from tests.portal.conftest import Lab

TOKEN = "s3cret-token-for-tests"


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """A raw request: the path goes out byte for byte, ``..`` and all (clients normalise it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


@pytest.fixture(scope="module")
def port(lab: Lab) -> Iterator[int]:
    """A real portal server on loopback, without a token."""
    with serving(lab.ws) as served:
        yield served.port


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_addresses_need_no_token(host: str) -> None:
    assert is_loopback(host)
    check_binding(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.com"])
def test_any_other_address_needs_a_token(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match="--token"):
        check_binding(host, None)
    check_binding(host, TOKEN)


def test_a_short_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 8"):
        check_binding("0.0.0.0", "abc")


def test_the_cli_refuses_to_bind_off_loopback_without_a_token(lab: Lab) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HYPERPIPE_PORTAL_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "hyperpipe", "-w", str(lab.ws.root), "portal", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert "needs a token" in result.stderr
    assert "HYPERPIPE_PORTAL_TOKEN" in result.stderr


def test_bound_off_loopback_every_page_and_api_call_needs_the_token(lab: Lab) -> None:
    with serving(lab.ws, "--host", "0.0.0.0", env={"HYPERPIPE_PORTAL_TOKEN": TOKEN}) as served:
        port = served.port
        for path in (
            "/",
            "/api/experiments",
            f"/runs/{lab.tracking}",
            "/openapi.json",
            "/static/portal.js",
            f"/api/runs/{lab.tracking}/files/outputs/result.txt",
        ):
            assert _get(port, path).status == 401, path
            wrong = _get(port, path, {"Authorization": "Bearer not-the-token"})
            assert wrong.status == 401, path
            assert _get(port, path, {"Authorization": f"Bearer {TOKEN}"}).status == 200, path
        # A browser brings the token once in the address and keeps it in a cookie.
        first = _get(port, f"/experiments/tracking?token={TOKEN}&limit=25")
        assert first.status == 303
        assert first.getheader("location") == "/experiments/tracking?limit=25"
        cookie = first.getheader("set-cookie").split(";")[0]
        assert "HttpOnly" in first.getheader("set-cookie")
        assert _get(port, "/experiments/tracking?limit=25", {"Cookie": cookie}).status == 200
        assert _get(port, "/", {"Cookie": "hyperpipe_portal_token=guess"}).status == 401


def test_without_a_token_only_loopback_host_names_are_answered(client: TestClient) -> None:
    # A page elsewhere that rebinds its own name to 127.0.0.1 sends its own Host header.
    assert client.get("/", headers={"Host": "attacker.example"}).status_code == 400
    assert client.get("/", headers={"Host": "localhost:8765"}).status_code == 200
    assert client.get("/", headers={"Host": "[::1]:8765"}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "../../../../../../etc/passwd",
        "outputs/../../../.hyperpipe/store.db",
        "..%2F..%2F..%2F.hyperpipe%2Fstore.db",
        "%2Fetc%2Fpasswd",
        "outputs/./result.txt",
        "outputs//result.txt",
        "outputs\\..\\..\\store.db",
    ],
)
def test_a_download_path_cannot_leave_the_run_files(lab: Lab, port: int, path: str) -> None:
    response = _get(port, f"/api/runs/{lab.tracking}/files/{path}")
    assert response.status in (400, 404), (path, response.status)
    assert b"root:" not in response.body  # type: ignore[attr-defined]
    assert b"SQLite" not in response.body  # type: ignore[attr-defined]


def test_a_file_of_another_run_is_not_served_through_this_one(client: TestClient, lab: Lab) -> None:
    assert client.get(f"/api/runs/{lab.tracking}/files/outputs/result.txt").status_code == 200
    assert client.get(f"/api/runs/{lab.failed}/files/outputs/result.txt").status_code == 404


def test_an_output_html_file_downloads_in_a_sandbox_and_images_show_inline(
    client: TestClient, lab: Lab
) -> None:
    page = client.get(f"/api/runs/{lab.tracking}/files/outputs/deep/page.html")
    assert page.status_code == 200
    assert page.headers["content-type"] == "application/octet-stream"
    assert page.headers["content-disposition"].startswith("attachment")
    assert page.headers["content-security-policy"] == "sandbox"
    image = client.get(f"/api/runs/{lab.tracking}/files/dot.png")
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"].startswith("inline")
    assert image.content.startswith(b"\x89PNG")


def test_user_strings_render_as_text_on_every_page(client: TestClient, lab: Lab) -> None:
    pages = {
        "runs": client.get("/experiments/tracking").text,
        "run": client.get(f"/runs/{lab.hostile}").text,
        "children": client.get("/experiments/tracking?children=true").text,
    }
    for name, html in pages.items():
        assert XSS not in html, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, name
    run = pages["run"]
    assert "<img src=x" not in run  # the metric name
    assert "&lt;img src=x onerror=alert(2)&gt;" in run
    assert "<b>tag</b>" not in run and "&lt;b&gt;tag&lt;/b&gt;" in run
    assert "<script>alert(3)</script>" not in run  # the log
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in run


def test_pages_forbid_inline_script_and_framing(client: TestClient, lab: Lab) -> None:
    for path in ("/", "/experiments/tracking", f"/runs/{lab.tracking}", f"/runs/{lab.sweep}"):
        response = client.get(path)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert not re.search(r"<script(?![^>]*\bsrc=)", response.text), path


def test_a_hostile_run_name_shows_as_text_in_a_real_browser(
    lab: Lab, port: int, browser: Browser
) -> None:
    page = browser.new_page()
    try:
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"http://127.0.0.1:{port}/runs/{lab.hostile}")
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").inner_text().startswith(f"Run 2 {XSS}")  # shown as text
        page.goto(f"http://127.0.0.1:{port}/experiments/tracking")
        page.wait_for_load_state("networkidle")
        assert page.get_by_text(XSS).count() == 1
        assert dialogs == []
    finally:
        page.close()


def test_the_cli_refuses_a_port_out_of_range_with_a_message(lab: Lab) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hyperpipe", "-w", str(lab.ws.root), "portal", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr
