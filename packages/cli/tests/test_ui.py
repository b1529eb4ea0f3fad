"""The UI's ASGI wrapper: its files under /_eventual/ui/, everything else passed on."""

from __future__ import annotations

import httpx

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
