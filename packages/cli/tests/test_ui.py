"""The UI's ASGI wrapper: its files under /_eventual/ui/, everything else passed on."""

from __future__ import annotations

import re
from importlib import resources

import httpx
import pytest

from eventual import Service, workflow
from eventual_cli._ui import UI_PATH, UiApp
from eventual_engine import HttpApp, HttpOptions, LocalRuntime


@workflow
async def echo(text: str) -> str:
    return text


SERVICE = Service.from_definitions("echo", [echo])


def _client(app: UiApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ui.test")


async def test_serves_the_page_and_its_files_without_a_token() -> None:
    """The page, script and style sheet are served with their types, even when a token is set."""
    async with LocalRuntime(SERVICE) as runtime:
        app = UiApp(HttpApp(runtime, options=HttpOptions(token="s3cret")))
        async with _client(app) as client:
            page = await client.get(f"{UI_PATH}/")
            script = await client.get(f"{UI_PATH}/app.js")
            style = await client.get(f"{UI_PATH}/style.css")
            api = await client.get("/_eventual/executions")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script src="app.js" defer></script>' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert script.headers["content-type"].startswith("text/javascript")
    assert "Authorization".lower() in script.text.lower()
    assert style.headers["content-type"].startswith("text/css")
    assert api.status_code == 401  # the data behind still needs the token


async def test_other_paths_reach_the_service() -> None:
    """Requests outside the UI go to the HttpApp unchanged."""
    async with LocalRuntime(SERVICE) as runtime, _client(UiApp(HttpApp(runtime))) as client:
        health = await client.get("/_eventual/health")
        started = await client.post(
            "/_eventual/executions", json={"workflow": "echo", "input": "hi", "name": "a"}
        )
    assert health.json() == {"status": "ok", "service": "echo"}
    assert started.status_code == 201


async def test_folder_redirect_unknown_file_and_method() -> None:
    """/_eventual/ui redirects to the folder; unknown files are 404, writes 405."""
    async with LocalRuntime(SERVICE) as runtime, _client(UiApp(HttpApp(runtime))) as client:
        bare = await client.get(UI_PATH)
        missing = await client.get(f"{UI_PATH}/secrets.txt")
        posted = await client.post(f"{UI_PATH}/")
        head = await client.head(f"{UI_PATH}/app.js")
    assert (bare.status_code, bare.headers["location"]) == (308, f"{UI_PATH}/")
    assert missing.status_code == 404
    assert (posted.status_code, posted.headers["allow"]) == (405, "GET, HEAD")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 1000


async def test_under_a_prefix() -> None:
    """Mounted under a root_path, the UI, its redirect and the API behind answer under it."""
    async with LocalRuntime(SERVICE) as runtime:
        transport = httpx.ASGITransport(app=UiApp(HttpApp(runtime)), root_path="/shop")
        async with httpx.AsyncClient(transport=transport, base_url="http://ui.test") as client:
            bare = await client.get(f"/shop{UI_PATH}")
            page = await client.get(f"/shop{UI_PATH}/")
            health = await client.get("/shop/_eventual/health")
    assert (bare.status_code, bare.headers["location"]) == (308, f"/shop{UI_PATH}/")
    assert page.status_code == 200
    assert health.json() == {"status": "ok", "service": "echo"}


def _colours(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", block))


def _schemes() -> dict[str, dict[str, str]]:
    css = resources.files("eventual_cli._ui").joinpath("static", "style.css").read_text()
    light = _colours(css[css.index(":root {") : css.index("}", css.index(":root {"))])
    dark_start = css.index(":root {", css.index("prefers-color-scheme: dark"))
    dark = {**light, **_colours(css[dark_start : css.index("}", dark_start)])}
    return {"light": light, "dark": dark}


def _contrast(first: str, second: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


_STATUSES = ("succeeded", "failed", "running", "cancelled", "timed-out")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_colours_keep_wcag_aa_contrast(scheme: str) -> None:
    """Text keeps 4.5:1 and bars, stripes and the focus ring 3:1, in light and dark mode."""
    colours = _schemes()[scheme]
    text = [
        ("text", "background"),
        ("text", "surface"),
        ("muted", "background"),
        ("muted", "surface"),
        ("link", "background"),
        ("succeeded", "background"),  # outcome text
        ("failed", "background"),  # outcome and error text
        *(("on-status", status) for status in _STATUSES),  # status badges
    ]
    graphics = [
        *((status, "surface") for status in _STATUSES),  # bars on the track
        ("waiting", "surface"),  # the back-off stripes
        ("focus", "background"),
    ]
    low = [
        f"{fg} on {bg}: {_contrast(colours[fg], colours[bg]):.2f}"
        for pairs, needed in ((text, 4.5), (graphics, 3.0))
        for fg, bg in pairs
        if _contrast(colours[fg], colours[bg]) < needed
    ]
    assert low == []
