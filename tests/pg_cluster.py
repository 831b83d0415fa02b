"""A throwaway PostgreSQL cluster (initdb and pg_ctl as the postgres user), for fault drills.

Restarting the machine's shared server (5432) would cut other engineers' work: a drill that
restarts PostgreSQL makes a cluster of its own on a spare port. initdb refuses root, so the
commands run as `postgres` through runuser: only where the tests run as root with PostgreSQL 15's
binaries (`available()`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def available() -> bool:
    """Whether a cluster can be made here (root, runuser, PostgreSQL 15's initdb)."""
    return (
        os.geteuid() == 0 and shutil.which("runuser") is not None and (PG_BIN / "initdb").exists()
    )


class Cluster:
    """A throwaway PostgreSQL cluster of the drill's own (initdb, pg_ctl as the postgres user)."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory, self.port = directory, port

    def _pg_ctl(self, *arguments: str) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.directory),
                *arguments,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        """initdb the directory when it holds no cluster yet, then start it on `port`."""
        if not (self.directory / "PG_VERSION").exists():
            subprocess.run(
                [
                    "runuser",
                    "-u",
                    "postgres",
                    "--",
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.directory),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-l", str(self.directory / "log"), "-w", "start")

    def restart(self) -> None:
        """Stop it (fast: every connection is cut) and start it again."""
        self._pg_ctl("-m", "fast", "-w", "restart")

    def stop(self) -> None:
        """Stop it."""
        self._pg_ctl("-m", "fast", "-w", "stop")

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` on this cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        """Create database `name` (nothing if it is there already)."""
        subprocess.run(
            [
                str(PG_BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                name,
            ],
            check=False,  # already there from an earlier run
            stderr=subprocess.DEVNULL,
        )
