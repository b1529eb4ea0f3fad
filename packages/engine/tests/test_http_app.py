"""HttpApp: commands, routes and errors over HTTP, and every error status."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest

from eventual import (
    HttpRequest,
    HttpResponse,
    Service,
    api,
    command,
    workflow,
)
from eventual_engine import Engine, HttpApp, HttpOptions, MemoryBackend

from .http_shop import (
    DEFINITIONS,
    JSON,
    Item,
    Serve,
    serving,
)


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve the shop (plus extra definitions) through httpx's ASGI transport."""
    async with serving() as build:
        yield build


async def test_rpc_command_round_trip(serve: Serve) -> None:
    """POST /_rpc/{name} decodes the JSON body into the input type and encodes the output."""
    client = await serve()
    response = await client.post("/_rpc/add_item", json={"sku": "a", "quantity": 3})
    assert response.status_code == 200
    assert response.json() == {"a": 6}
    assert response.headers["content-type"] == "application/json"


async def test_command_without_input(serve: Serve) -> None:
    """A command that takes no input is called with an empty body."""
    client = await serve()
    response = await client.post("/_rpc/ping")
    assert response.json() == "pong"


async def test_command_may_return_its_own_response(serve: Serve) -> None:
    """A command returning an HttpResponse sends it as is."""
    client = await serve()
    response = await client.post("/_rpc/teapot")
    assert (response.status_code, response.text) == (418, "short and stout")


async def test_bad_input_names_the_field(serve: Serve) -> None:
    """Input that does not fit gets 400 with the path of the failing field."""
    client = await serve()
    response = await client.post("/_rpc/add_item", json={"sku": "a", "quantity": "three"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid input"
    assert body["detail"] == {"path": "input.quantity", "problem": 'expected int, got "three"'}


async def test_unknown_field_is_refused(serve: Serve) -> None:
    """An object key the input type does not have is a 400, not silently dropped."""
    client = await serve()
    response = await client.post("/_rpc/add_item", json={"sku": "a", "quantity": 1, "x": 1})
    assert response.status_code == 400
    assert "x" in response.json()["detail"]["problem"]


@pytest.mark.parametrize("body", [b"{", b"NaN", b"\xff\xfe\x00"])
async def test_malformed_json(serve: Serve, body: bytes) -> None:
    """A body that is not JSON (or not UTF-8) gets 400 malformed JSON."""
    client = await serve()
    response = await client.post("/_rpc/add_item", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json()["error"] == "malformed JSON"


async def test_unknown_route_is_404(serve: Serve) -> None:
    """A path no command or route serves gets 404 with a JSON error body."""
    client = await serve()
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"] == "no route for GET /nowhere"
    assert (await client.post("/_rpc/no_such_command", json={})).status_code == 404


async def test_wrong_method_is_405_with_allow(serve: Serve) -> None:
    """A known path with another method gets 405 and an Allow header listing the methods."""
    client = await serve()
    response = await client.put("/hello/bob")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    assert response.json()["detail"] == {"allowed": ["DELETE", "GET", "HEAD", "OPTIONS"]}
    assert (await client.get("/_rpc/add_item")).headers["allow"] == "OPTIONS, POST"


async def test_head_is_get_without_the_body(serve: Serve) -> None:
    """HEAD is answered by the GET endpoint, with its headers and length but no body."""
    client = await serve()
    got = await client.get("/hello/ann")
    head = await client.head("/hello/ann")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-type"] == "application/json"
    assert (await client.head("/_eventual/health")).status_code == 200
    assert (await client.head("/echo")).status_code == 405


async def test_options_lists_the_allowed_methods(serve: Serve) -> None:
    """OPTIONS on a known path answers 204 with Allow (no token needed); elsewhere 404."""
    client = await serve(options=HttpOptions(token="t"))
    response = await client.options("/hello/ann")
    assert response.status_code == 204
    assert response.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    system = await client.options("/_eventual/executions", headers={"authorization": "Bearer t"})
    assert (system.status_code, system.headers["allow"]) == (204, "GET, HEAD, OPTIONS, POST")
    assert (await client.options("/nowhere")).status_code == 404


async def test_body_over_the_limit_is_413(serve: Serve) -> None:
    """A body over max_body_bytes gets 413, whether or not it declares its length."""
    client = await serve(options=HttpOptions(max_body_bytes=10))
    response = await client.post("/echo", content=b"x" * 11)
    assert response.status_code == 413
    assert response.json()["detail"] == {"max_bytes": 10}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"xxxxx"

    streamed = await client.post("/echo", content=chunks())
    assert streamed.status_code == 413
    assert (await client.post("/echo", content=b"x" * 10)).status_code == 200


async def test_default_limit_is_six_megabytes() -> None:
    """The default body limit is the 6 MB of AWS Lambda."""
    assert HttpOptions().max_body_bytes == 6 * 1024 * 1024


async def test_http_error_status_and_detail(serve: Serve) -> None:
    """A handler's HttpError becomes its status with its message and detail."""
    client = await serve()
    response = await client.post("/_rpc/refuse", json={"sku": "a", "quantity": 1})
    assert response.status_code == 409
    assert response.json()["error"] == "item taken"
    assert response.json()["detail"] == {"sku": "a"}


async def test_500_hides_the_exception_and_logs_it(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    """Any other exception gets 500 without its text; the log has it under the request id."""
    client = await serve()
    with caplog.at_level(logging.ERROR, logger="eventual.http"):
        response = await client.post("/_rpc/broken", json={"sku": "a", "quantity": 1})
    assert response.status_code == 500
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    request_id = response.headers["x-request-id"]
    assert response.json() == {
        "error": "internal server error",
        "detail": None,
        "request_id": request_id,
    }
    [record] = caplog.records
    assert request_id in record.getMessage()
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])


async def test_route_errors(serve: Serve) -> None:
    """A route's exception is a 500 too, and so is a handler that returns no HttpResponse."""
    client = await serve()
    crashed = await client.get("/crash")
    assert crashed.status_code == 500
    assert "secret" not in crashed.text
    assert (await client.get("/not-a-response")).status_code == 500


@api.post("/parse")
async def parse(request: HttpRequest) -> HttpResponse:
    return HttpResponse.json({"parsed": request.json()})


@api.post("/shout")
async def shout(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.text().upper())


async def test_route_reading_a_bad_body_is_400(serve: Serve) -> None:
    """A route whose request.json() or text() meets a malformed body answers 400, not 500."""
    client = await serve(parse, shout)
    malformed = await client.post("/parse", content=b"{")  # a route reads what it likes
    assert malformed.status_code == 400
    assert malformed.json()["error"] == "malformed JSON"
    not_text = await client.post("/shout", content=b"\xff")
    assert not_text.status_code == 400
    assert "UTF-8" in not_text.json()["error"]
    assert (await client.post("/parse", content=b"[1]")).json() == {"parsed": [1]}
    with pytest.raises(ValueError, match="malformed JSON"):
        HttpRequest(method="POST", path="/", body=b"{").json()


async def test_command_body_must_be_declared_json(serve: Serve) -> None:
    """A command body sent as a form or text gets 415; application/json and +json are read."""
    client = await serve()
    body = b'{"sku":"a","quantity":1}'
    for kind in ("application/x-www-form-urlencoded", "text/plain", None):
        headers = {} if kind is None else {"content-type": kind}
        refused = await client.post("/_rpc/add_item", content=body, headers=headers)
        assert refused.status_code == 415
        assert "content-type: application/json" in refused.json()["error"]
    for kind in ("application/json; charset=utf-8", "application/vnd.shop+json"):
        sent = await client.post("/_rpc/add_item", content=body, headers={"content-type": kind})
        assert sent.json() == {"a": 2}
    put = await client.put("/items/a/quantity", content=b'{"quantity":1}')
    assert put.status_code == 415
    assert (await client.post("/_rpc/ping")).json() == "pong"  # no body, no type needed


async def test_paths_are_percent_decoded_and_trailing_slashes_ignored(serve: Serve) -> None:
    """Path parameters arrive percent-decoded; a trailing slash finds the same endpoint."""
    client = await serve()
    assert (await client.get("/hello/J%C3%BCrgen%20B")).json()["hello"] == "Jürgen B"
    assert (await client.get("/hello/ann/")).json()["hello"] == "ann"
    assert (await client.post("/_rpc/ping/")).json() == "pong"
    assert (await client.get("/hello")).status_code == 404


async def test_an_encoded_slash_stays_in_its_parameter(serve: Serve) -> None:
    """``%2F`` and ``%25`` inside a path parameter are part of it, not a separator."""
    client = await serve()
    assert (await client.get("/hello/a%2Fb")).json()["hello"] == "a/b"
    assert (await client.get("/hello/100%25")).json()["hello"] == "100%"
    assert (await client.get("/orders/x%2Fy")).json()["order_id"] == "x/y"
    assert (await client.get("/hello/a/b")).status_code == 404


@workflow
async def noop(item: Item) -> None:
    return None


@command
async def start_named(item: Item) -> str:
    return (await noop.start(item, name=item.note)).id


async def test_a_command_starting_a_bad_name_is_a_400(serve: Serve) -> None:
    """A command whose wf.start gets an invalid execution name from the request answers 400."""
    client = await serve(noop, start_named)
    for name in ("", "a/b", "n" * 5000):
        item = {"sku": "a", "quantity": 1, "note": name}
        response = await client.post("/_rpc/start_named", json=item)
        assert response.status_code == 400, name
        detail = response.json()["detail"]
        assert detail["path"] == "name"
        assert "invalid execution name" in detail["problem"]
    fine = await client.post("/_rpc/start_named", json={"sku": "a", "quantity": 1, "note": "ok"})
    assert fine.json() == "noop/ok"


async def test_text_that_cannot_be_stored_is_refused_at_the_edge(serve: Serve) -> None:
    """A lone surrogate in a command's body, query or a route's json() is a 400 naming where."""
    client = await serve(parse)
    body = b'{"sku": "\\ud800", "quantity": 1}'
    response = await client.post("/_rpc/add_item", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json()["detail"]["path"] == "input.sku"
    assert "surrogate" in response.json()["detail"]["problem"]
    query = await client.get("/orders/o1", params={"verbose": '"\\ud800"'})
    assert query.status_code == 400
    routed = await client.post("/parse", content=b'{"a": ["\\udfff"]}')
    assert routed.status_code == 400
    assert routed.json()["detail"]["path"] == "body.a[0]"
    deep = await client.post("/parse", content=b"[" * 100 + b"]" * 100)
    assert deep.status_code == 400
    assert "nested deeper" in deep.json()["detail"]["problem"]


async def test_query_text_is_utf8_escaped_or_not() -> None:
    """A query value arrives as the same text whether the client percent-encoded it or not."""
    app = HttpApp(Engine(Service.from_definitions("shop", DEFINITIONS), MemoryBackend()))
    bodies: list[bytes] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body":
            bodies.append(message["body"])  # type: ignore[arg-type]

    for raw in (b"q=J%C3%BCrgen", "q=Jürgen".encode()):
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/hello/x",
            "query_string": raw,
            "headers": [],
        }
        await app(scope, receive, send)  # type: ignore[arg-type]
    assert [json.loads(body)["q"] for body in bodies] == [{"q": "Jürgen"}] * 2


async def test_request_id_is_echoed_when_safe(serve: Serve) -> None:
    """A caller's plain x-request-id is kept; one that could forge a log line is replaced."""
    client = await serve()
    kept = await client.get("/hello/a", headers={"x-request-id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = await client.get("/hello/a", headers={"x-request-id": "a\tb"})
    assert replaced.headers["x-request-id"] != "a\tb"
    assert len(replaced.headers["x-request-id"]) == 26


async def test_routes_get_params_query_and_body(serve: Serve) -> None:
    """Api routes receive path parameters, the query (last value wins) and the raw body."""
    client = await serve()
    response = await client.get("/hello/ann", params=[("a", "1"), ("a", "2"), ("b", "")])
    assert response.json() == {"hello": "ann", "q": {"a": "2", "b": ""}}
    echoed = await client.post("/echo", content=b"\x00raw")
    assert echoed.content == b"\x00raw"
    assert (await client.delete("/hello/ann")).status_code == 204


async def test_rest_command_from_path_and_query(serve: Serve) -> None:
    """A REST command's path parameters and query fill a record input, read as their types."""
    client = await serve()
    response = await client.get("/orders/o-7", params={"verbose": "true"})
    assert response.status_code == 200
    assert response.json() == {"order_id": "o-7", "verbose": True}


async def test_rest_command_merges_body(serve: Serve) -> None:
    """Path parameters and the JSON body fill one record; text stays text for str fields."""
    client = await serve()
    response = await client.put("/items/123/quantity", json={"quantity": 4})
    assert response.json() == {"sku": "123", "quantity": 4, "note": ""}


async def test_rest_command_conflict_is_refused(serve: Serve) -> None:
    """A field given with two different values in the path and the body is a 400."""
    client = await serve()
    response = await client.put("/items/a/quantity", json={"sku": "b", "quantity": 4})
    assert response.status_code == 400
    assert response.json()["detail"]["path"] == "input.sku"
    same = await client.put("/items/a/quantity", json={"sku": "a", "quantity": 4})
    assert same.status_code == 200


async def test_rest_command_bad_path_value(serve: Serve) -> None:
    """A path parameter that does not fit its field's type names the field."""
    client = await serve()
    response = await client.post("/counts/many")
    assert response.status_code == 400
    assert response.json()["detail"]["path"] == "input"
    assert (await client.post("/counts/21")).json() == 42


async def test_rpc_endpoint_of_a_rest_command(serve: Serve) -> None:
    """A command with a path is still served at POST /_rpc/{name}."""
    client = await serve()
    response = await client.post("/_rpc/get_order", json={"order_id": "x"})
    assert response.json() == {"order_id": "x", "verbose": False}


async def test_handle_without_a_server() -> None:
    """HttpApp.handle answers an HttpRequest directly (what a Lambda adapter uses)."""
    app = HttpApp(Engine(Service.from_definitions("shop", DEFINITIONS), MemoryBackend()))
    request = HttpRequest(
        method="POST", path="/_rpc/add_item", headers=JSON, body=b'{"sku":"z","quantity":1}'
    )
    response = await app.handle(request)
    assert response.status == 200
    assert response.body_bytes() == b'{"z":2}'
    too_big = await HttpApp(app.engine, options=HttpOptions(max_body_bytes=1)).handle(
        HttpRequest(method="POST", path="/echo", body=b"xx")
    )
    assert too_big.status == 413


def test_paths_under_the_system_prefix_are_refused() -> None:
    """A route or REST command under /_eventual/ would be shadowed, so the app refuses it."""

    @api.get("/_eventual/status")
    async def status(request: HttpRequest) -> HttpResponse:
        return HttpResponse(b"ok")

    @command(path="/_eventual", method="GET")
    async def root() -> str:
        return "root"

    for definition in (status, root):
        service = Service.from_definitions("shop", [definition])
        with pytest.raises(ValueError, match="under /_eventual/"):
            HttpApp(Engine(service, MemoryBackend()))


async def test_lifespan_is_acknowledged() -> None:
    """The ASGI lifespan protocol is answered, so servers that run it start and stop."""
    app = HttpApp(Engine(Service.from_definitions("shop", DEFINITIONS), MemoryBackend()))
    inbox: list[dict[str, object]] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return inbox.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(dict(message))

    await app({"type": "lifespan"}, receive, send)  # type: ignore[arg-type]
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


async def test_starting_under_a_taken_name_is_409(serve: Serve) -> None:
    """A command that starts an execution whose name is taken with another input gets 409."""

    @workflow
    async def fulfil(sku: str) -> str:
        return sku

    @command
    async def start_named(item: Item) -> str:
        handle = await fulfil.start(item.sku, name="only-one")
        return handle.id

    client = await serve(start_named, fulfil)
    first = await client.post("/_rpc/start_named", json={"sku": "a", "quantity": 1})
    assert first.status_code == 200
    again = await client.post("/_rpc/start_named", json={"sku": "a", "quantity": 1})
    assert again.json() == first.json()  # same input: the same execution
    clash = await client.post("/_rpc/start_named", json={"sku": "b", "quantity": 1})
    assert clash.status_code == 409
    assert "already exists" in clash.json()["error"]


def test_the_http_layer_imports_no_runtime() -> None:
    """The HTTP layer serves engines and clients by protocol: it imports no runtime module."""
    import ast
    import pathlib

    import eventual_engine._http as http_package

    folder = pathlib.Path(http_package.__file__).parent
    imported: set[str] = set()
    for source in folder.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 2:
                imported.add(node.module or "")
    # _schedules drives schedulers through the same protocols (it runs nothing itself).
    assert imported <= {"_ids", "_schedules"}, imported
