"""Cold import time of each Lambda handler module, with the orders example as the service.

For each ``eventual_aws.handlers.<kind>`` a fresh interpreter runs
``python -X importtime -c "import eventual_aws.handlers.<kind>"`` and the
cumulative time of the handler module is read from the last line. A handler
module imports only the entry point: the service, boto3 and the engine are
imported when the first invocation builds the function's runtime, so that is
measured too (``first invocation setup``: the runtime built from the plan's
environment, without any AWS request; its wall time and, steadier on a busy
machine, its CPU time), with the boto3 clients the setup created, and the CPU
time of creating each of the five clients (what a function pays per client it
uses), as is ``import json`` as the floor of the machine at hand. Each figure
is the median of ``--rounds`` runs; bytecode is compiled first, as in a Lambda
bundle.

Run: ``python benchmarks/handler_imports.py [--rounds 7] [--output FILE]``.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POWERTOOLS = (
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.data_classes",
    "aws_lambda_powertools.logging",
)
KINDS = ("orchestrator", "task", "timer", "forwarder", "subscription", "api")
FORBIDDEN = ("aws_cdk", "pulumi", "click", "uvicorn", "rich")
ENVIRONMENT = {
    "EVENTUAL_SERVICE": "orders.service",
    "EVENTUAL_SERVICE_NAME": "orders",
    "EVENTUAL_BACKEND": "aws",
    "EVENTUAL_EVENT_BUS": "eventbridge",
    "EVENTUAL_AWS_TABLE": "orders-table",
    "EVENTUAL_AWS_BUCKET": "orders-bucket",
    "EVENTUAL_AWS_EVENT_BUS_NAME": "orders-events",
    "EVENTUAL_AWS_QUEUE_PREFIX": "orders",
    "EVENTUAL_AWS_WORKFLOW_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/orders-workflow.fifo",
    "EVENTUAL_AWS_TIMER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/orders-timer",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "none",
    "AWS_SECRET_ACCESS_KEY": "none",
}
_SETUP = """
import time, sys, json
start = time.perf_counter()
cpu = time.process_time()
import eventual_aws.handlers.{kind}
from eventual_aws._lambda import runtime_for
runtime = runtime_for({environment!r})
runtime.app if "{kind}" == "api" else None
elapsed = time.perf_counter() - start
cpu = time.process_time() - cpu
created = getattr(runtime.backend.clients, "created", None)
created = sorted(created) if created is not None else ["all (created with the backend)"]
print(json.dumps([elapsed, cpu, sorted({{m.split(".")[0] for m in sys.modules}}), created]))
"""
_CLIENTS = """
import json, time, boto3
session = boto3.Session(region_name="us-east-1")
times = {}
for name in ("dynamodb", "sqs", "s3", "events", "scheduler"):
    start = time.process_time()
    session.client(name)
    times[name] = (time.process_time() - start) * 1000
print(json.dumps(times))
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    source = str(ROOT / "examples" / "orders" / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def import_ms(module: str) -> float:
    """Return the cumulative import time of ``module`` in a fresh interpreter, in ms."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )
    line = done.stderr.strip().splitlines()[-1]  # "import time: self | cumulative | name"
    return int(line.split("|")[1]) / 1000


def setup_ms(kind: str) -> tuple[float, float, list[str], list[str]]:
    """Return the wall and CPU ms to build a handler's runtime, its modules and its clients."""
    code = _SETUP.format(kind=kind, environment=ENVIRONMENT)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    )
    elapsed, cpu, modules, created = json.loads(done.stdout.strip().splitlines()[-1])
    return elapsed * 1000, cpu * 1000, modules, created


def client_ms() -> dict[str, float]:
    """Return the CPU time to create each boto3 client, in order, in a fresh interpreter, in ms."""
    done = subprocess.run(
        [sys.executable, "-c", _CLIENTS], capture_output=True, text=True, env=_env(), check=True
    )
    times: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return times


def main() -> None:
    """Measure and print the report; write it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "handler_imports.json"
    )
    args = parser.parse_args()
    for path in {sysconfig.get_paths()["purelib"], str(ROOT / "packages"), str(ROOT / "examples")}:
        compileall.compile_dir(path, quiet=1)
    floor = statistics.median(import_ms("json") for _ in range(args.rounds))
    rows: dict[str, dict[str, object]] = {}
    for kind in KINDS:
        imports = [import_ms(f"eventual_aws.handlers.{kind}") for _ in range(args.rounds)]
        setups = [setup_ms(kind) for _ in range(args.rounds)]
        loaded = setups[-1][2]
        rows[kind] = {
            "import_ms": statistics.median(imports),
            "first_invocation_setup_ms": statistics.median(s[0] for s in setups),
            "first_invocation_setup_cpu_ms": statistics.median(s[1] for s in setups),
            "forbidden_loaded": [name for name in loaded if name in FORBIDDEN],
            "clients_created_by_setup": setups[-1][3],
        }
    client_runs = [client_ms() for _ in range(args.rounds)]
    clients = {name: statistics.median(run[name] for run in client_runs) for name in client_runs[0]}
    peers: dict[str, float] = {}
    try:
        import aws_lambda_powertools  # noqa: F401
    except ImportError:
        pass
    else:
        for module in POWERTOOLS:
            peers[module] = statistics.median(import_ms(module) for _ in range(args.rounds))
    print(f"import json (the machine's floor): {floor:.1f} ms, median of {args.rounds}")
    print(
        f"{'handler':<14} {'import':>10} {'first-invocation setup':>24} {'(CPU)':>10}"
        "  forbidden modules"
    )
    for kind, row in rows.items():
        print(
            f"{kind:<14} {row['import_ms']:>8.1f} ms {row['first_invocation_setup_ms']:>21.1f} ms"
            f" {row['first_invocation_setup_cpu_ms']:>7.1f} ms  {row['forbidden_loaded'] or 'none'}"
        )
    for kind, row in rows.items():
        print(
            f"boto3 clients created by {kind}'s setup: {row['clients_created_by_setup'] or 'none'}"
        )
    print(
        "CPU time creating each boto3 client (one session, in this order): "
        + ", ".join(f"{name} {ms:.1f} ms" for name, ms in clients.items())
        + f"; all five {sum(clients.values()):.1f} ms"
    )
    for module, ms in peers.items():
        print(f"peer: import {module}: {ms:.1f} ms")
    if not peers:
        print("peer: aws-lambda-powertools is not installed (pip install aws-lambda-powertools)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "rounds": args.rounds,
                "json_floor_ms": floor,
                "handlers": rows,
                "client_creation_ms": clients,
                "peers": peers,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
