"""Throwaway engines for the cross-engine checks: a PostgreSQL cluster in a temp dir on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pandas as pd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """initdb + pg_ctl in a temporary folder; as root, the server runs as the `postgres` user."""

    def __init__(self, folder: Path | None = None):
        # a folder of its own under the system temp dir: pytest's are private to root, and the server
        # runs as `postgres` when the tests run as root
        self.folder = Path(folder or tempfile.mkdtemp(prefix="clv-postgres-"))
        self.port = _free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, args):
        subprocess.run(self.as_user + args, check=True, capture_output=True, text=True)

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            self.folder.chmod(0o755)
            shutil.chown(self.folder, "postgres")
        data = self.folder / "data"
        self._run(["initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c TimeZone=UTC"
        )
        self._run(["pg_ctl", "-D", str(data), "-o", options, "-l", str(self.folder / "server.log"), "-w", "start"])
        self.query("create database clv", database="postgres", autocommit=True)
        return self

    def stop(self):
        subprocess.run(
            self.as_user + ["pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(self.folder, ignore_errors=True)

    def env(self) -> dict:
        return {
            "CLV_TARGET": "postgres",
            "CLV_PG_HOST": "127.0.0.1",
            "CLV_PG_PORT": str(self.port),
            "CLV_PG_USER": "postgres",
            "CLV_PG_PASSWORD": "",
            "CLV_PG_DATABASE": "clv",
            "CLV_PG_SCHEMA": "clv",
        }

    def query(self, sql: str, database: str = "clv", autocommit: bool = False) -> pd.DataFrame | None:
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database)
        con.autocommit = autocommit
        try:
            with con.cursor() as cur:
                cur.execute(sql)
                if cur.description is None:
                    return None
                columns = [c.name for c in cur.description]
                return pd.DataFrame(cur.fetchall(), columns=columns)
        finally:
            con.close()


SPARK_TABLES = Path(__file__).resolve().parent / "spark_tables.py"


def run_spark(workdir: Path, command: str, arguments: list[str]) -> None:
    """python_checks/spark_tables.py in workdir (where dbt's local Spark session keeps its warehouse)."""
    import sys

    proc = subprocess.run(
        [sys.executable, str(SPARK_TABLES), command, *arguments],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]


def export_spark_tables(workdir: Path, names: list[str]) -> dict:
    """Tables of a local Spark session's warehouse in workdir, read into pandas."""
    run_spark(workdir, "export", names)
    return {name: pd.read_parquet(workdir / "export" / f"{name}.parquet") for name in names}
