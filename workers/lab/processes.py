"""The service's own processes (API, scheduler, workers) started as deployed, for the lab runs that need them
separate from the driver: ``nfsync chaos`` and ``nfsync bench fleet``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from nfsync.workers.config import Settings

Processes = dict[str, subprocess.Popen[bytes]]


def service_env(settings: Settings, key: str, extra: Mapping[str, str]) -> dict[str, str]:
    """This environment without its NFSYNC_ variables, then ``extra``, then where the run's services are."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    env.update(extra)
    env.update(
        {
            "NFSYNC_DATABASE_URL": settings.database_url,
            "NFSYNC_AMQP_URL": settings.amqp_url,
            "NFSYNC_SECRET_KEYS": key,
            "NFSYNC_PUBLIC_BASE_URL": settings.public_base_url,
            "NFSYNC_OUTBOUND_ALLOWED_HOSTS": settings.outbound_allowed_hosts,
        }
    )
    return env


def spawn(processes: Processes, logs: Path, env: Mapping[str, str], name: str, *args: str) -> None:
    """``nfsync <args>`` as process ``name``, its output appended to ``logs/<name>.log``."""
    command = [sys.executable, "-m", "nfsync.workers", *args]
    with (logs / f"{name}.log").open("ab") as out:  # the child keeps its own descriptor
        processes[name] = subprocess.Popen(command, env=dict(env), stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


def stop_all(processes: Processes, grace: float = 30.0) -> None:
    """SIGTERM to every live process, then SIGKILL to any still running after ``grace`` seconds."""
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
