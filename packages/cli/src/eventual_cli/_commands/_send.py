"""Acting on a service: signal, cancel, publish, call, complete-task, fail-task."""

from __future__ import annotations

import urllib.parse

import click

from ._api import SYSTEM, ApiFailure, execution_path
from ._inputs import json_argument
from ._output import Output, client_options
from ._render import short_json

__all__ = ["call", "cancel", "complete_task", "fail_task", "publish", "signal"]


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _accepted(out: Output, answer: object, text: str) -> None:
    if out.as_json:
        out.json(answer)
    else:
        out.note(text)


@click.command("signal")
@click.argument("execution_id", metavar="ID")
@click.argument("signal_name", metavar="SIGNAL")
@click.argument("payload_text", metavar="[PAYLOAD|-]", required=False)
@client_options
def signal(
    execution_id: str,
    signal_name: str,
    payload_text: str | None,
    url: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Send SIGNAL with PAYLOAD (JSON, default null) to the execution ID."""
    payload = json_argument(payload_text, "PAYLOAD")
    path = f"{execution_path(execution_id)}/signals/{_quote(signal_name)}"
    out = Output(as_json)
    with out.client(url, token) as client:
        answer = client.request("POST", path, body=payload, what=f"execution {execution_id!r}")
    if isinstance(answer, dict) and answer.get("accepted") is False:
        # The execution has ended: the service discarded the signal and says why.
        _accepted(out, answer, f"not sent: {answer.get('message') or 'the execution has ended'}")
        return
    _accepted(out, answer, f"sent {signal_name} to {execution_id}")


@click.command("cancel")
@click.argument("execution_id", metavar="ID")
@client_options
def cancel(execution_id: str, url: str, token: str | None, as_json: bool) -> None:
    """Ask the execution ID to cancel (its workflow may clean up first)."""
    out = Output(as_json)
    with out.client(url, token) as client:
        answer = client.request(
            "POST", f"{execution_path(execution_id)}/cancel", what=f"execution {execution_id!r}"
        )
    _accepted(out, answer, f"asked {execution_id} to cancel")


@click.command("publish")
@click.argument("event")
@click.argument("payload_texts", metavar="[PAYLOAD...]", nargs=-1)
@client_options
def publish(
    event: str, payload_texts: tuple[str, ...], url: str, token: str | None, as_json: bool
) -> None:
    """Publish EVENT once per PAYLOAD (JSON each; none publishes one null payload)."""
    texts = payload_texts or ("null",)
    payloads = [json_argument(text, f"PAYLOAD {index}") for index, text in enumerate(texts, 1)]
    out = Output(as_json)
    with out.client(url, token) as client:
        answer = client.request("POST", f"{SYSTEM}/events/{_quote(event)}", body=payloads)
    count = len(payloads)
    _accepted(out, answer, f"published {count} {event} event{'s' if count != 1 else ''}")


@click.command("call")
@click.argument("command")
@click.argument("input_text", metavar="[INPUT|-]", required=False)
@client_options
def call(command: str, input_text: str | None, url: str, token: str | None, as_json: bool) -> None:
    """Call the service's COMMAND with INPUT (JSON) and print what it returns."""
    value = json_argument(input_text, "INPUT")
    out = Output(as_json)
    with out.client(url, token) as client:
        try:
            result = client.request("POST", f"/_rpc/{_quote(command)}", body=value)
        except ApiFailure as failure:
            if failure.status == 404 and "no route" in failure.message:
                raise ApiFailure(f"{client.url} has no command {command!r}", 404) from None
            raise
    if as_json:
        out.json(result)
    else:
        out.show(short_json(result, 10_000))


@click.command("complete-task")
@click.argument("task_token", metavar="TOKEN")
@click.argument("result_text", metavar="[RESULT|-]", required=False)
@client_options
def complete_task(
    task_token: str, result_text: str | None, url: str, token: str | None, as_json: bool
) -> None:
    """Complete the asynchronous task TOKEN with RESULT (JSON, default null)."""
    result = json_argument(result_text, "RESULT")
    out = Output(as_json)
    with out.client(url, token) as client:
        answer = client.request(
            "POST", f"{SYSTEM}/tasks/complete", body={"token": task_token, "result": result}
        )
    _accepted(out, answer, "completed the task")


@click.command("fail-task")
@click.argument("task_token", metavar="TOKEN")
@click.argument("error")
@click.option(
    "--type",
    "error_type",
    default="Error",
    show_default=True,
    help="The error's type name, as the workflow's TaskError.error_type sees it.",
)
@client_options
def fail_task(
    task_token: str, error: str, error_type: str, url: str, token: str | None, as_json: bool
) -> None:
    """Fail the asynchronous task TOKEN with the message ERROR."""
    out = Output(as_json)
    body = {"token": task_token, "error_type": error_type, "message": error}
    with out.client(url, token) as client:
        answer = client.request("POST", f"{SYSTEM}/tasks/fail", body=body)
    _accepted(out, answer, f"failed the task with {error_type}: {error}")
