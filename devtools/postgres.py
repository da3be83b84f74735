"""A real, throwaway PostgreSQL server from Debian's `postgresql` package, for the tests: a new
cluster in a temporary folder (initdb), started with pg_ctl on a free port of 127.0.0.1, and
removed at the end.

    server = start_postgres(tmp_path)      # PostgresServer(url=..., ...)
    try: ... server.url ...                # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
    finally: server.stop()

PostgreSQL refuses to run as root: as root, the cluster belongs to the package's `postgres`
user and every command runs as that user (runuser). `make postgres` installs the package.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devtools.app_server import HOST, free_port

INSTALL_HINT = "PostgreSQL is not installed: run `make postgres` (apt-get install postgresql)"


def postgres_bin() -> Path | None:
    """The newest installed server's bin folder (/usr/lib/postgresql/<version>/bin)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    return Path(found[-1]).parent if found else None


def as_server_user() -> list[str]:
    """The prefix that runs a command as a user PostgreSQL accepts."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class PostgresServer:
    url: str
    port: int
    folder: Path
    bin: Path
    options: str  # the server's command-line options (port, socket folder)

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*as_server_user(), str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def stop(self) -> None:
        """Stop the server (fast: no waiting for clients) and remove its folder."""
        try:
            self.pg_ctl("stop", "-m", "fast", "-w")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def pause(self) -> None:
        """Stop the server but keep its data: a database outage."""
        self.pg_ctl("stop", "-m", "fast", "-w")

    def resume(self) -> None:
        self.pg_ctl("start", "-w", "-o", self.options, "-l", str(self.folder / "server.log"))


def start_postgres() -> PostgresServer:
    """A fresh cluster, started; trust authentication on 127.0.0.1 only (a test server)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError(INSTALL_HINT)
    folder = Path(tempfile.mkdtemp(prefix="lenet-viz-postgres-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
    subprocess.run(
        [
            *as_server_user(),
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    options = f"-h {HOST} -p {port} -k {sockets} -c fsync=off -c max_connections=50"
    server = PostgresServer(
        url=f"postgresql+psycopg://postgres@{HOST}:{port}/postgres",
        port=port,
        folder=folder,
        bin=bin_dir,
        options=options,
    )
    try:
        server.resume()
    except subprocess.CalledProcessError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return server
