"""The publish step on Postgres (scripts/publish.py): `dbt build` writes the work schema <schema>_work;
publishing copies the consumer relations into <schema>__next and, in the same transaction, renames the
published schema to <schema>__previous and <schema>__next to <schema>, with the published schema's
grants (on the schema and on each table) and the table comments carried over. Readers resolve a
relation by name when a statement starts: a query running during the swap finishes on the old tables
(Postgres binds by OID, and renaming a schema takes no lock on its tables); the next one reads the new.
A build holds an advisory lock for its whole run, so a second build is refused, from any machine."""

from __future__ import annotations

import os
from contextlib import contextmanager

from scripts.publish import PUBLISH_LOG, ROOT, Refused, Run, log_row, pause, say, tested_through_statements


def connect():
    import psycopg2

    return psycopg2.connect(
        host=os.environ.get("CLV_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("CLV_PG_PORT", "5432")),
        user=os.environ.get("CLV_PG_USER", "postgres"),
        password=os.environ.get("CLV_PG_PASSWORD", ""),
        dbname=os.environ.get("CLV_PG_DATABASE", "clv"),
    )


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresRun(Run):
    @contextmanager
    def locked(self):
        connection = connect()
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("select pg_try_advisory_lock(hashtext(%s))", [f"clv publish {self.lock_path.name}"])
                if not cursor.fetchone()[0]:
                    cursor.execute(
                        "select pid, backend_start from pg_stat_activity where pid in "
                        "(select pid from pg_locks where locktype = 'advisory' and granted)"
                    )
                    sessions = cursor.fetchall()
                    holders = ", ".join(f"PID {pid} since {start:%Y-%m-%d %H:%M:%S}" for pid, start in sessions)
                    raise Refused(
                        f"another build is running (Postgres session {holders or 'unknown'}; advisory lock "
                        f"{self.lock_path.name}): refused. Wait for it to finish; nothing was built or published."
                    )
            yield
        finally:
            connection.close()


class PostgresPublisher:
    def __init__(self):
        self.schema = os.environ.get("CLV_PG_SCHEMA", "clv")
        self.work_schema = f"{self.schema}_work"
        self.next_schema = f"{self.schema}__next"
        self.previous_schema = f"{self.schema}__previous"
        self.dbt_env = {"CLV_PG_SCHEMA": self.work_schema}
        state_dir = ROOT / ".clv_state"
        self.run = PostgresRun(f"postgres.{os.environ.get('CLV_PG_DATABASE', 'clv')}.{self.work_schema}", state_dir)

    def describe(self) -> str:
        return f"work schema {self.work_schema}, published schema {self.schema}"

    def before_build(self) -> None:
        if not self.schema_exists(self.work_schema):
            say(f"work schema {self.work_schema} not found: this run is a full build")

    def schema_exists(self, name: str, cursor=None) -> bool:
        if cursor is None:
            with connect() as connection, connection.cursor() as cursor:
                return self.schema_exists(name, cursor)
        cursor.execute("select 1 from pg_namespace where nspname = %s", [name])
        return cursor.fetchone() is not None

    def publish(self, results: dict, tests_passed: int, relations: list[str], history: dict[str, str]) -> dict:
        work, published, upcoming = map(quoted, (self.work_schema, self.schema, self.next_schema))
        connection = connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute("set local lock_timeout = '60s'")
                cursor.execute(f"drop schema if exists {upcoming} cascade")
                cursor.execute(f"create schema {upcoming}")
                say(f"copying {len(relations)} relations into {self.next_schema}")
                had_published = self.schema_exists(self.schema, cursor)
                row_counts = {}
                for name in relations:
                    table = quoted(name)
                    cursor.execute(f"create table {upcoming}.{table} (like {work}.{table} including all)")
                    cursor.execute("select obj_description(%s::regclass, 'pg_class')", [f"{work}.{table}"])
                    comment = cursor.fetchone()[0]
                    if comment:
                        cursor.execute(f"comment on table {upcoming}.{table} is %s", [comment])
                    if name != PUBLISH_LOG:
                        cursor.execute(f"insert into {upcoming}.{table} select * from {work}.{table}")
                        if name in history and had_published:
                            carried = self.carry_history(cursor, name, history[name])
                            say(f"{name}: {carried} earlier rows kept from the published state")
                        cursor.execute(f"select count(*) from {upcoming}.{table}")
                        row_counts[name] = cursor.fetchone()[0]
                    pause(f"copying the relation after {name}")
                cursor.execute(f"select * from {work}.int_parameters")
                parameters = dict(zip([column.name for column in cursor.description], cursor.fetchone(), strict=True))
                if had_published:
                    cursor.execute(
                        "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
                        [self.schema, PUBLISH_LOG],
                    )
                    if cursor.fetchone():
                        cursor.execute(f"insert into {upcoming}.{PUBLISH_LOG} select * from {published}.{PUBLISH_LOG}")
                    self.carry_grants(cursor, relations)
                row = log_row(self.run, results, tests_passed, parameters, row_counts)
                columns = ", ".join(row)
                marks = ", ".join(["%s"] * len(row))
                cursor.execute(f"insert into {upcoming}.{PUBLISH_LOG} ({columns}) values ({marks})", list(row.values()))
                pause("swapping the schemas")
                cursor.execute(f"drop schema if exists {quoted(self.previous_schema)} cascade")
                if had_published:
                    cursor.execute(f"alter schema {published} rename to {quoted(self.previous_schema)}")
                cursor.execute(f"alter schema {upcoming} rename to {published}")
            connection.commit()
        finally:
            connection.close()
        return row

    def mark_tested(self, tables: list[str], run_id: str) -> None:
        """After the publish: the newest tested row of each incremental table, in the work schema."""
        if not tables:
            return
        connection = connect()
        try:
            with connection.cursor() as cursor:
                for statement in tested_through_statements(quoted(self.work_schema), tables, run_id):
                    cursor.execute(statement)
            connection.commit()
        finally:
            connection.close()

    def carry_history(self, cursor, name: str, key: str) -> int:
        """The published rows of a history mart whose key (the as-of) this run did not write, into the new copy:
        the columns both have (a column added since reads null in the earlier rows)."""
        cursor.execute(
            "select earlier.column_name from information_schema.columns as earlier "
            "join information_schema.columns as new on new.table_schema = %s and new.table_name = earlier.table_name "
            "and new.column_name = earlier.column_name "
            "where earlier.table_schema = %s and earlier.table_name = %s order by earlier.ordinal_position",
            [self.next_schema, self.schema, name],
        )
        listed = ", ".join(quoted(row[0]) for row in cursor.fetchall())
        if not listed:
            return 0
        upcoming, published, table, column = map(quoted, (self.next_schema, self.schema, name, key))
        cursor.execute(
            f"insert into {upcoming}.{table} ({listed}) select {listed} from {published}.{table} "
            f"where {column} not in (select {column} from {upcoming}.{table})"
        )
        return cursor.rowcount

    def carry_grants(self, cursor, relations: list[str]) -> None:
        """The published schema's grants (usage on the schema, privileges on its tables) onto the new one."""
        upcoming = quoted(self.next_schema)
        cursor.execute(
            "select grantee.rolname, acl.privilege_type from pg_namespace as namespace "
            "cross join lateral aclexplode(namespace.nspacl) as acl "
            "join pg_roles as grantee on grantee.oid = acl.grantee "
            "where namespace.nspname = %s and acl.grantee <> namespace.nspowner",
            [self.schema],
        )
        for role, privilege in cursor.fetchall():
            cursor.execute(f"grant {privilege} on schema {upcoming} to {quoted(role)}")
        cursor.execute(
            "select grantee, privilege_type, table_name from information_schema.role_table_grants "
            "where table_schema = %s and grantee <> current_user",
            [self.schema],
        )
        for role, privilege, table in cursor.fetchall():
            if table in relations:
                cursor.execute(f"grant {privilege} on {upcoming}.{quoted(table)} to {quoted(role)}")

    def show_failures(self, results: dict) -> None:
        return None

    def rollback(self) -> None:
        if not self.schema_exists(self.previous_schema):
            raise Refused(f"no previous published schema ({self.previous_schema}): nothing to roll back to")
        swap = quoted(f"{self.schema}__rollback")
        connection = connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"alter schema {quoted(self.schema)} rename to {swap}")
                cursor.execute(f"alter schema {quoted(self.previous_schema)} rename to {quoted(self.schema)}")
                cursor.execute(f"alter schema {swap} rename to {quoted(self.previous_schema)}")
            connection.commit()
        finally:
            connection.close()
        say(f"schema {self.schema} is the previous published state again; the one it replaced: {self.previous_schema}")

    def published_log(self):
        import pandas as pd

        with connect() as connection, connection.cursor() as cursor:
            if not self.schema_exists(self.schema, cursor):
                return None
            cursor.execute(f"select * from {quoted(self.schema)}.{PUBLISH_LOG} order by published_at desc")
            return pd.DataFrame(cursor.fetchall(), columns=[column.name for column in cursor.description])
