"""A small synchronous client of the system API, for the operating commands.

``ServiceClient`` is typed by a service's definitions, which a command run
against some URL does not have; these commands only move JSON, so they talk to
the system API with httpx directly and turn every failure a user can cause
(service unreachable, 4xx, 5xx) into one ``ApiFailure`` with a readable message.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import click
import httpx

from ._sigv4 import NeedsSetup, signer, signs

__all__ = ["DEFAULT_URL", "SYSTEM", "ApiFailure", "SystemClient", "execution_path"]

DEFAULT_URL = "http://127.0.0.1:3111"
SYSTEM = "/_eventual"


class ApiFailure(click.ClickException):
    """A request to the service failed; ``message`` says why and what to do.

    Attributes:
        status: The HTTP status, or None when the service could not be reached.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def execution_path(execution_id: str) -> str:
    """Return the system API path of an execution (``workflow/name``).

    Raises:
        click.BadParameter: The id is not ``workflow/name``.
    """
    workflow, sep, name = execution_id.partition("/")
    if not sep or not workflow or not name:
        raise click.BadParameter(
            f"{execution_id!r} is not an execution id; expected WORKFLOW/NAME "
            "(as `eventual executions` lists them)",
            param_hint="ID",
        )
    return f"{SYSTEM}/executions/{_quote(workflow)}/{_quote(name)}"


def _describe(response: httpx.Response) -> str:
    """Return the error of a failed response as one line."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().splitlines()
        return text[0] if text else response.reason_phrase
    if isinstance(body, dict) and "error" not in body and isinstance(body.get("message"), str):
        # API Gateway's own refusals (a bad signature, throttling) say {"message": ...}.
        return str(body["message"])
    if not isinstance(body, dict) or "error" not in body:
        return json.dumps(body)
    message = str(body["error"])
    detail = body.get("detail")
    if isinstance(detail, dict) and "path" in detail and "problem" in detail:
        message = f"{message}: {detail['path']}: {detail['problem']}"
    elif detail not in (None, {}, []):
        message = f"{message} ({json.dumps(detail)})"
    return message


class SystemClient:
    """Requests to one service's system API, commands and health check.

    Args:
        url: The service's base URL.
        token: The system API's bearer token, if it needs one.
        sigv4: Sign system API requests with AWS credentials (SigV4): True, False,
            or None to sign only for an API Gateway (``execute-api``) URL.
        timeout: Seconds to wait for connecting and for each response (long-polls
            add their own wait to it).
        transport: The httpx transport (tests answer requests in-process with it).
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sigv4: bool | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._signer: httpx.Auth | None = None
        self._region = ""
        if signs(self.url, sigv4):
            try:
                self._signer, self._region = signer(self.url)
            except NeedsSetup as problem:
                raise ApiFailure(str(problem)) from None
        headers = {"accept": "application/json", "user-agent": "eventual-cli"}
        self._timeout = timeout
        self._token = token
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> SystemClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        wait: float = 0.0,
        what: str = "",
    ) -> Any:
        """Send one request and return its JSON answer.

        Args:
            method: The HTTP method.
            path: The path under the base URL.
            body: JSON to send (nothing when None and the method is GET).
            params: Query parameters.
            wait: A long-poll's wait in seconds, added to the response timeout.
            what: What was asked for, to word a 404 (``"execution 'x/1'"``).

        Raises:
            ApiFailure: The service could not be reached or answered with an error.
        """
        content = None if method == "GET" else json.dumps(body).encode("utf-8")
        headers = {} if content is None else {"content-type": "application/json"}
        system = path == SYSTEM or path.startswith(SYSTEM + "/")
        if self._token and system:
            # Only the system API takes the token: a command's or route's own
            # middleware must never see it.
            headers["authorization"] = f"Bearer {self._token}"
        # Likewise only system routes carry IAM auth on AWS; commands and routes
        # are public or guarded by the service's own means.
        auth = self._signer if system else None
        try:
            response = self._http.request(
                method,
                path,
                content=content,
                headers=headers,
                params=params,
                timeout=self._timeout + wait,
                auth=auth,
            )
        except httpx.TimeoutException:
            raise ApiFailure(f"{self.url} did not answer {method} {path} in time") from None
        except httpx.TransportError as error:
            raise ApiFailure(
                f"cannot reach the service at {self.url} ({error or type(error).__name__}); "
                "is `eventual local` running there? (set --url or EVENTUAL_URL)"
            ) from None
        if response.status_code == 401:
            if self._token:
                raise ApiFailure(
                    f"{self.url} refused the token (HTTP 401); check --token or EVENTUAL_TOKEN",
                    401,
                )
            raise ApiFailure(
                f"{self.url} needs a token for the system API: pass --token TOKEN "
                "or set EVENTUAL_TOKEN",
                401,
            )
        if response.status_code == 403 and system:
            self._refused(response, signed=auth is not None)
        if response.status_code >= 400:
            problem = _describe(response)
            if response.status_code == 404 and what and problem.lower() == "not found":
                problem = f"no {what}"
            raise ApiFailure(f"{problem} (HTTP {response.status_code})", response.status_code)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiFailure(
                f"{self.url} answered {method} {path} with something that is not JSON; "
                "is it an eventual service?"
            ) from None

    def _refused(self, response: httpx.Response, *, signed: bool) -> None:
        """Raise the ApiFailure of a 403 from the system API, saying what to check."""
        problem = _describe(response)
        if self._signer is not None and signed:
            raise ApiFailure(
                f"{self.url} refused the AWS-signed request: {problem} (HTTP 403); check that "
                "the AWS credentials in use may call execute-api:Invoke on its system API, and "
                f"that the API is in {self._region} (AWS_REGION)",
                403,
            )
        raise ApiFailure(
            f"{self.url} refused the request: {problem} (HTTP 403); if its system API uses "
            "AWS IAM auth, sign requests with --sigv4 (or EVENTUAL_SIGV4=1)",
            403,
        )

    def execution(self, execution_id: str, wait: float = 0.0) -> dict[str, Any]:
        """Return an execution's record; with ``wait``, long-poll up to that many seconds."""
        params = {"wait": f"{wait:g}"} if wait > 0 else None
        record: dict[str, Any] = self.request(
            "GET",
            execution_path(execution_id),
            params=params,
            wait=wait,
            what=f"execution {execution_id!r}",
        )
        return record

    def history(self, execution_id: str) -> list[dict[str, Any]]:
        """Return an execution's history events (JSON, oldest first)."""
        body = self.request(
            "GET", f"{execution_path(execution_id)}/history", what=f"execution {execution_id!r}"
        )
        events: list[dict[str, Any]] = body["events"]
        return events

    def history_since(self, execution_id: str, after: int, wait: float) -> dict[str, Any]:
        """Long-poll for events past position ``after``, up to ``wait`` seconds.

        Returns:
            The system API's answer: ``events`` (the new ones), ``next`` (the
            position to ask from next time) and ``status``.
        """
        body: dict[str, Any] = self.request(
            "GET",
            f"{execution_path(execution_id)}/history",
            params={"after": str(after), "wait": f"{wait:g}"},
            wait=wait,
            what=f"execution {execution_id!r}",
        )
        return body

    def logs(self, execution_id: str, after: int = 0, wait: float = 0.0) -> dict[str, Any]:
        """Return log entries past position ``after``; with ``wait``, long-poll for one.

        Returns:
            The system API's answer: ``entries``, ``next`` (the position to ask
            from next time) and ``status``.
        """
        params = {"after": str(after)}
        if wait > 0:
            params["wait"] = f"{wait:g}"
        body: dict[str, Any] = self.request(
            "GET",
            f"{execution_path(execution_id)}/logs",
            params=params,
            wait=wait,
            what=f"execution {execution_id!r}",
        )
        return body

    def pages(self, path: str, key: str, limit: int, **query: str | None) -> Iterator[Any]:
        """Yield up to ``limit`` items of a paged list, following ``next`` cursors."""
        params = {name: value for name, value in query.items() if value}
        left = limit
        while left > 0:
            page = self.request("GET", path, params={**params, "limit": str(min(left, 1000))})
            items = page[key]
            yield from items[:left]
            left -= len(items)
            if not page.get("next") or not items:
                return
            params["cursor"] = page["next"]
