"""Scale: seed open cases straight through the Temporal SDK (each workflow stores itself through the
worker's activity, as a filing does) and measure, at each size, what people and operators would
feel: listing with each filter, reading one case, `referrals stuck`, and the memory of the worker
holding every case on a timer.

    .venv/bin/python -m bench.scale --sizes 1000,10000

Prints JSON: per size, p50/p99 milliseconds per request, the stuck command's seconds, RSS of the
worker and of the Temporal server, and how each figure grew from the first size to the last.

The department after ten years (issue 32):

    .venv/bin/python -m bench.scale --department 200000 --open 10000

One case is carried through the API to its close; the closed cases are made from it (their ids, numbers, district,
filer and moments changed, spread over ten years; the audit events' hash chains computed as referrals/store/audit.py
computes them) and written straight into PostgreSQL with COPY, the access trail gets a few entries per case (bench/
access_log.py's seed), and the open ones run as workflows, as above (as many as the dev server takes: `open.held`).
Prints JSON: the Cases search with each filter and `q=` (GET /incidents), My work (the desk's home page: the open tasks
the person's roles may act on) and one case's access trail (GET /access-log?case=), p50/p99 ms; `referrals audit
verify` of one seeded case and `referrals publish`, seconds; the database's size per case and its largest tables (the
documents' bytes are not seeded: the size one closed case's documents take is reported beside); and the targets
(p99 under 100 ms each, publishing under 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import json
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import psutil
import psycopg
from psycopg import sql
from psycopg.rows import namedtuple_row
from sqlalchemy import text

from bench import access_log
from bench.lifecycle import percentiles
from bench.people import Answers, People
from bench.public_stats import _publish
from bench.stack import PEOPLE, Stack
from referrals.config import ROOT, Settings
from referrals.domain.case import IncidentInput, workflow_id_for
from referrals.domain.messages import Actor, IncidentFiling
from referrals.domain.policy import load_policy
from referrals.store import audit
from referrals.store.engine import async_engine
from referrals.temporal_client import connect
from referrals.workflows.incident import IncidentWorkflow
from tests.support.scenario import FILING

DISTRICTS = [f"{n:03d}" for n in range(1, 26)]
# (who asks, query): every filter of GET /incidents, and a supervisor whose visibility narrows it.
LISTINGS = {
    "all": ("auditor", ""),
    "stage": ("auditor", "stage=investigation"),
    "task": ("auditor", "task=violation_report"),
    "district": ("auditor", "district=010"),
    "overdue": ("auditor", "overdue=true"),
    "supervisor_visibility": ("supervisor", ""),
    # Full-text search (issue 14): a word in every case (the worst case: every case ranked), one case's
    # OEMC event number, a word with a date range and a filter.
    "search_every_case": ("auditor", "q=bystander"),
    "search_event_number": ("auditor", "q=2600000042"),
    "search_word_in_range": ("auditor", "q=masked+agents&occurred_from=2026-01-01&occurred_to=2026-12-31&district=010"),
}


SEEDED = "case_number LIKE 'SCALE-%'"  # the cases seed() starts (a department holds others)


def _filing(n: int) -> IncidentFiling:
    body = copy.deepcopy(FILING)
    body.update(district=DISTRICTS[n % len(DISTRICTS)], event_number=f"26{n:08d}", recordings=[])
    return IncidentFiling.model_validate(body)


async def seed(stack: Stack, start: int, stop: int, concurrency: int = 50) -> float:
    """Start cases start..stop-1 and wait until PostgreSQL holds them all; returns the seconds it took."""
    settings = Settings(database_url=stack.database_url, temporal_address=stack.temporal_address, env="development")
    client = await connect(settings)
    policy = load_policy(ROOT / "policy" / "chicago.toml")
    officer = Actor(
        user_id=stack.user_ids["officer"], name="Drill officer", roles=["officer"], district="010", star="12345"
    )
    gate = asyncio.Semaphore(concurrency)
    began = time.monotonic()

    async def one(n: int) -> None:
        case_id = str(uuid.uuid4())
        inp = IncidentInput(
            case_id=case_id,
            case_number=f"SCALE-2026-{n:06d}",
            filed_by=officer,
            filing=_filing(n),
            policy=policy,
            request_hash="seeded",
        )
        async with gate:
            await client.start_workflow(
                IncidentWorkflow.run, inp, id=workflow_id_for(case_id), task_queue=settings.task_queue
            )

    await asyncio.gather(*(one(n) for n in range(start, stop)))
    engine = async_engine(stack.database_url)
    try:
        while True:
            async with engine.connect() as db:
                if (await db.execute(text(f"SELECT count(*) FROM incident WHERE {SEEDED}"))).scalar_one() >= stop:
                    break
            await asyncio.sleep(1)
    finally:
        await engine.dispose()
    return time.monotonic() - began


async def timed(http: httpx.AsyncClient, token: str, paths: list[str]) -> list[float]:
    seconds = []
    for path in paths:
        began = time.monotonic()
        response = await http.get(path, headers={"Authorization": f"Bearer {token}"})
        seconds.append(time.monotonic() - began)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text}")
    return seconds


async def measure(stack: Stack, requests: int, stuck_runs: int = 5, settle: float = 5.0) -> dict:
    engine = async_engine(stack.database_url)
    try:
        async with engine.connect() as db:
            ids = [row[0] for row in (await db.execute(text("SELECT id FROM incident"))).all()]
    finally:
        await engine.dispose()
    found: dict = {"cases": len(ids)}
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as http:
        for name, (who, query) in LISTINGS.items():
            paths = [f"/incidents?{query}"] * requests
            found[f"list_{name}_ms"] = percentiles(await timed(http, stack.tokens[who], paths))
        picks = [f"/incidents/{random.choice(ids)}" for _ in range(requests)]
        found["get_case_ms"] = percentiles(await timed(http, stack.tokens["auditor"], picks))
    runs = []
    for _ in range(stuck_runs):
        began = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "referrals.cli", "stuck", "--json"],
            env=stack.env(),
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        runs.append(time.monotonic() - began)
    found["referrals_stuck_seconds"] = round(statistics.median(runs), 3)
    await asyncio.sleep(settle)  # let the worker settle: every case waits on its timer
    for name in ("worker", "temporal"):
        found[f"{name}_rss_mib"] = round(psutil.Process(stack.pids()[name]).memory_info().rss / 2**20, 1)
    return found


def growth(first: dict, last: dict) -> dict:
    figures = {}
    for key, value in first.items():
        if key == "cases" or key.startswith("seed_"):
            continue
        before, after = (value["p99"], last[key]["p99"]) if isinstance(value, dict) else (value, last[key])
        figures[key] = round(after / before, 2) if before else None
    return figures


async def main_async(sizes: list[int], requests: int, stuck_runs: int = 5, settle: float = 5.0) -> dict:
    """`stuck_runs`: how many times `referrals stuck` is timed (the median is reported); `settle`: seconds the
    worker is left before its memory is read."""
    report: dict = {"sizes": sizes, "requests_per_measure": requests, "machine_cpus": psutil.cpu_count(), "results": []}
    async with Stack.started() as stack:
        seeded = 0
        for size in sizes:
            seconds = await seed(stack, seeded, size)
            report["results"].append(
                {
                    "seed_seconds": round(seconds, 1),
                    "seed_cases_per_second": round((size - seeded) / seconds, 1),
                    **await measure(stack, requests, stuck_runs, settle),
                }
            )
            seeded = size
    report["growth_p99_first_to_last"] = growth(report["results"][0], report["results"][-1])
    return report


# --- The department after ten years (issue 32, item 5): closed cases seeded straight into PostgreSQL, open ones as
# running workflows, and what people, auditors and operators then wait for.

YEARS = 10
ACCESS_ENTRIES_PER_CASE = 5  # the trail keeps a year (policy: access_log_retention_days): a few reads per case
OFFICERS = 2_000  # the closed cases' filers, each a user (bench/access_log.py's seed makes them)
CHUNK = 2_000  # closed cases per COPY transaction
DEPARTMENT_TARGETS = {"p99_ms": 100.0, "publish_seconds": 10.0}
# The read model's tables seeded per closed case, by the column naming the case (case_event has a chain of its own).
CASE_TABLES = {
    "incident": "id",
    "case_task": "case_id",
    "recording": "case_id",
    "person": "case_id",
    "allegation": "case_id",
    "decision": "case_id",
}
EVENT_COLUMNS = ("case_id", "seq", "kind", "actor_id", "actor_name", "at", "data", "prev_hash", "hash")
# Moments as JSON (ISO-8601) and COPY (text) write them, and days.
MOMENTS = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}(?::\d{2})?)?)?"
_MOMENT = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:([T ])(\d{2}):(\d{2}):(\d{2})(.*))?")


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _copy_text(value: str) -> str:
    """A value as COPY's text format writes it."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _shift(moment: str, delta: timedelta) -> str:
    """`moment` (as the pattern wrote it: its separator, fraction and offset kept) moved by `delta`, whole seconds."""
    y, mo, d, sep, hh, mm, ss, rest = _MOMENT.fullmatch(moment).groups()  # type: ignore[union-attr]
    if sep is None:
        return (date(int(y), int(mo), int(d)) + timedelta(days=delta.days)).isoformat()
    t = datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss)) + delta
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}{sep}{t.hour:02d}:{t.minute:02d}:{t.second:02d}{rest}"


@dataclass
class ClosedCase:
    """A case closed through the API, as PostgreSQL holds it, made a pattern for many: its rows (COPY text) and its
    audit events, each a format whose fields are what differs from case to case: the case's id, number, OEMC event
    number and district, its filer and their star, its documents' ids, and every moment (shifted alike)."""

    filed_at: datetime
    tables: dict[str, tuple[list[str], list[str]]]  # table: (columns, a format per row)
    events: list[tuple[str, str | None, str | None, str, str]]  # kind, actor_id, actor_name, at, data formats
    slots: dict[str, tuple[str, str]]  # field: (kind, what the pattern holds there)
    documents_bytes: int  # the generated documents' bytes (not seeded: the read model names them)

    @classmethod
    def read(cls, conn: psycopg.Connection, case_id: str, officer_id: str, star: str) -> ClosedCase:
        incident = conn.execute(
            "SELECT case_number, district, filed_at, state #>> '{details,event_number}', "
            "ARRAY(SELECT d ->> 'id' FROM jsonb_array_elements(state -> 'documents') d) FROM incident WHERE id = %s",
            (case_id,),
        ).fetchone()
        if incident is None:
            raise LookupError(f"no case {case_id}")
        number, district, filed_at, event_number, documents = incident
        literals = {case_id: "case", number: "number", event_number: "event", officer_id: "officer"}
        literals |= {document: "document" for document in documents}
        tokens = re.compile(
            "|".join(
                [f"(?P<literal>{'|'.join(map(re.escape, literals))})"]
                + [f'(?P<district>"district": ?"{re.escape(district)}")', f"(?P<moment>{MOMENTS})"]
                + [f"(?P<star>(?<!\\d){re.escape(star)}(?!\\d))"]
            )
        )
        slots: dict[str, tuple[str, str]] = {}
        names: dict[tuple[str, str], str] = {}

        def slot(kind: str, original: str) -> str:
            if (kind, original) not in names:
                names[kind, original] = name = f"s{len(names)}"
                slots[name] = (kind, original)
            return "{" + names[kind, original] + "}"

        def cut(text: str) -> str:
            out, at = [], 0
            for match in tokens.finditer(text):
                out.append(text[at : match.start()].replace("{", "{{").replace("}", "}}"))
                kind = match.lastgroup
                out.append(slot(literals[match.group()] if kind == "literal" else kind, match.group()))  # type: ignore[arg-type]
                at = match.end()
            out.append(text[at:].replace("{", "{{").replace("}", "}}"))
            return "".join(out)

        conn.execute("SET TimeZone = 'UTC'")
        tables = {}
        for table, key in CASE_TABLES.items():
            columns = [
                row[0]
                for row in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                    "AND table_name = %s AND is_generated = 'NEVER' AND is_identity = 'NO' "
                    "AND coalesce(column_default, '') NOT LIKE 'nextval%%' ORDER BY ordinal_position",
                    (table,),
                )
            ]
            select = sql.SQL("COPY (SELECT {} FROM {} WHERE {} = {}) TO STDOUT").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.Identifier(table),
                sql.Identifier(key),
                sql.Literal(case_id),
            )
            with conn.cursor().copy(select) as copy:
                text_out = b"".join(bytes(block) for block in copy).decode()
            rows = []
            # The incident's district is a column of its own (the JSON's districts are cut where they stand).
            own = columns.index("district") if table == "incident" else -1
            for line in text_out.splitlines():
                rows.append("\t".join("{district}" if n == own else cut(f) for n, f in enumerate(line.split("\t"))))
            tables[table] = (columns, rows)
        events = []
        for kind, actor_id, actor_name, at, data in conn.execute(
            "SELECT kind, actor_id, actor_name, at, data FROM case_event WHERE case_id = %s ORDER BY seq", (case_id,)
        ):
            canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            at_text = at.astimezone(UTC).isoformat(timespec="microseconds")  # as referrals/store/audit.py hashes it
            events.append((kind, cut(actor_id) if actor_id else None, actor_name, cut(at_text), cut(canonical)))
        documents_bytes = conn.execute(
            "SELECT coalesce(sum(length(d.content)), 0) + coalesce(sum(length(p.content)), 0) "
            "FROM document d LEFT JOIN document_pdf p ON p.document_id = d.id WHERE d.case_id = %s",
            (case_id,),
        ).fetchone()[0]  # type: ignore[index]  # an aggregate: one row
        return cls(filed_at, tables, events, slots, int(documents_bytes))

    def values(self, n: int, case_id: str, filed_at: datetime, district: str, officer: tuple[str, str], rng) -> dict:
        """The fields of closed case `n`, filed at `filed_at`."""
        delta = timedelta(seconds=round((filed_at - self.filed_at).total_seconds()))
        year = (self.filed_at + delta).year
        found = {"district": district, "case_id": case_id}
        for name, (kind, original) in self.slots.items():
            if kind == "moment":
                found[name] = _shift(original, delta)
            elif kind == "case":
                found[name] = case_id
            elif kind == "number":
                found[name] = f"CPD-{year}-{500_000 + n:06d}"  # apart from the numbers the department issues
            elif kind == "event":
                found[name] = f"{year % 100:02d}{5_000_000 + n:08d}"  # apart from the open cases' (bench: 26000…)
            elif kind == "officer":
                found[name] = officer[0]
            elif kind == "star":
                found[name] = officer[1]
            elif kind == "district":
                found[name] = original[: original.rindex('"', 0, -1) + 1] + district + '"'
            else:  # a document's id
                found[name] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return found

    def rows(self, values: dict) -> tuple[dict[str, list[str]], list[str]]:
        """The case's rows as COPY text, by table, and its audit events' (the chain hashed as audit.py does)."""
        tables = {table: [row.format_map(values) for row in rows] for table, (_, rows) in self.tables.items()}
        case_id, prev, events = values["case_id"], audit.GENESIS, []
        for seq, (kind, actor_format, actor_name, at_format, data_format) in enumerate(self.events, 1):
            actor_id = actor_format.format_map(values) if actor_format else None
            at, data = at_format.format_map(values), data_format.format_map(values)
            body = (
                f'{{"actor_id":{json.dumps(actor_id)},"actor_name":{json.dumps(actor_name, ensure_ascii=False)},'
                f'"at":"{at}","case_id":"{case_id}","data":{data},"kind":{json.dumps(kind, ensure_ascii=False)},'
                f'"prev_hash":"{prev}","seq":{seq}}}'
            )
            digest = hashlib.sha256(body.encode()).hexdigest()
            fields = (case_id, str(seq), kind, actor_id, actor_name, at, data, prev, digest)
            events.append("\t".join("\\N" if f is None else _copy_text(f) for f in fields))
            prev = digest
        return tables, events


def seed_closed(database_url: str, pattern: ClosedCase, count: int, officers: list[tuple[str, str]]) -> list[str]:
    """`count` closed cases made from `pattern`, filed over the last YEARS years in every district, each by one of
    `officers` (id, star), written with COPY, CHUNK cases a transaction; their ids. The first case's chain is checked
    as `referrals audit verify` checks it before the rest are written."""
    rng = random.Random(2026)
    now = datetime.now(UTC)
    span = timedelta(days=365.25 * YEARS)
    step = span / max(count, 1)
    begin = min(now, pattern.filed_at) - span
    ids: list[str] = []
    with psycopg.connect(_conninfo(database_url)) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        for start in range(0, count, CHUNK):
            tables: dict[str, list[str]] = {table: [] for table in CASE_TABLES}
            events: list[str] = []
            for n in range(start, min(count, start + CHUNK)):
                case_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                filed_at = begin + step * n + timedelta(seconds=rng.uniform(0, step.total_seconds()))
                values = pattern.values(
                    n, case_id, filed_at, DISTRICTS[rng.randrange(len(DISTRICTS))], officers[n % len(officers)], rng
                )
                rows, chain = pattern.rows(values)
                for table, lines in rows.items():
                    tables[table] += lines
                events += chain
                ids.append(case_id)
            for table, lines in (*tables.items(), ("case_event", events)):
                columns = pattern.tables[table][0] if table in pattern.tables else EVENT_COLUMNS
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
                )
                with conn.cursor().copy(statement) as copy:
                    copy.write("\n".join(lines) + "\n")
            conn.commit()
            if start == 0:
                cursor = conn.cursor(row_factory=namedtuple_row)
                stored = cursor.execute(
                    "SELECT seq, kind, actor_id, actor_name, at, data, prev_hash, hash FROM case_event "
                    "WHERE case_id = %s ORDER BY seq",
                    (ids[0],),
                ).fetchall()
                if (broken := audit.verify_chain(ids[0], stored)) is not None or len(stored) != len(pattern.events):
                    raise RuntimeError(f"the seeded chain does not verify: {broken}")
    return ids


def settle_all(database_url: str) -> float:
    """What autovacuum and the checkpointer would long have done to ten years of cases (bench/access_log.py's
    settle(), over every table)."""
    began = time.monotonic()
    with psycopg.connect(_conninfo(database_url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")
    return time.monotonic() - began


async def close_a_case(stack: Stack) -> str:
    """One case carried through the API to its close (referred, charges declined): the closed cases' pattern."""
    people = People(stack.api_url, stack.tokens, stack.temporal_address, Answers())
    try:
        case_id = await people.lifecycle(0, "department-pattern")
        await people.until_closed(case_id, timeout=120)
    finally:
        await people.aclose()
    return case_id


async def seed_open(stack: Stack, count: int, chunk: int = 1_000) -> dict:
    """`count` open cases as running workflows, `chunk` at a time; how many the dev server took (it stops at the
    first chunk it refuses) and how long they took."""
    began, held, error = time.monotonic(), 0, None
    while held < count:
        size = min(chunk, count - held)
        try:
            await asyncio.wait_for(seed(stack, held, held + size), timeout=max(300, size))
        except Exception as exc:  # noqa: BLE001  (the dev server's limit is what is reported)
            error = f"{type(exc).__name__}: {exc}"[:500]
            break
        held += size
    seconds = time.monotonic() - began
    engine = async_engine(stack.database_url)
    try:
        async with engine.connect() as db:
            stored = (await db.execute(text(f"SELECT count(*) FROM incident WHERE {SEEDED}"))).scalar_one()
    finally:
        await engine.dispose()
    return {
        "requested": count,
        "held": stored,
        "seconds": round(seconds, 1),
        "cases_per_second": round(stored / seconds, 1) if seconds else None,
        **({"stopped_by": error} if error else {}),
    }


async def desk_page(stack: Stack, who: str) -> httpx.AsyncClient:
    """A client signed in at the desk as `who` (the cookie the desk's pages read)."""
    page = httpx.AsyncClient(base_url=stack.api_url, timeout=60)
    form = await page.get("/desk/sign-in", params={"next": "/desk/"})
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
    if csrf is None:
        raise RuntimeError(f"the desk's sign-in form has no CSRF token: {form.text[:500]}")
    signed = await page.post(
        "/desk/sign-in", data={"token": stack.tokens[who], "csrf_token": csrf.group(1), "next": "/desk/"}
    )
    if signed.status_code != 303:
        raise RuntimeError(f"the desk's sign-in answered {signed.status_code}: {signed.text[:500]}")
    return page


async def timed_pages(page: httpx.AsyncClient, paths: list[str]) -> list[float]:
    seconds = []
    for path in paths:
        began = time.monotonic()
        response = await page.get(path)
        seconds.append(time.monotonic() - began)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:500]}")
    return seconds


async def cli_seconds(stack: Stack, *args: str) -> tuple[float, str]:
    began = time.monotonic()
    done = await stack.cli(*args)
    seconds = time.monotonic() - began
    if done.returncode != 0:
        raise RuntimeError(f"referrals {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds, done.stdout.strip()


def database_size(database_url: str, cases: int, top: int = 8) -> dict:
    with psycopg.connect(_conninfo(database_url)) as conn:
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
        tables = conn.execute(
            "SELECT relname, pg_total_relation_size(oid), pg_relation_size(oid), n_live_tup "
            "FROM pg_class JOIN pg_stat_user_tables USING (relname) WHERE relkind = 'r' "
            "ORDER BY 2 DESC LIMIT %s",
            (top,),
        ).fetchall()
    return {
        "bytes": total,
        "bytes_per_case": round(total / cases),
        "largest_tables": [
            {
                "table": name,
                "bytes": size,
                "heap_bytes": heap,
                "index_and_toast_bytes": size - heap,
                "rows": rows,
                "bytes_per_case": round(size / cases),
            }
            for name, size, heap, rows in tables
        ],
    }


async def measure_department(stack: Stack, closed_ids: list[str], requests: int, rng: random.Random) -> dict:
    found: dict = {}
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        searches = {}
        for name, (who, query) in LISTINGS.items():
            paths = [f"/incidents?{query}"] * requests
            await timed(http, stack.tokens[who], paths[:3])  # warm
            searches[name] = percentiles(await timed(http, stack.tokens[who], paths))
        found["cases_search_ms"] = searches
        trail = [f"/access-log?case={rng.choice(closed_ids)}" for _ in range(requests)]
        await timed(http, stack.tokens["auditor"], trail[:3])
        found["access_trail_one_case_ms"] = percentiles(await timed(http, stack.tokens["auditor"], trail))
    # My work (the desk's home page, referrals/web/routes/work.py): the open tasks the person's roles may act on.
    found["my_work_ms"] = {}
    for who in ("officer", "custodian", "reviewer"):
        page = await desk_page(stack, who)
        try:
            await timed_pages(page, ["/desk/"] * 3)
            found["my_work_ms"][who] = percentiles(await timed_pages(page, ["/desk/"] * requests))
        finally:
            await page.aclose()
    engine = async_engine(stack.database_url)
    try:
        async with engine.connect() as db:
            number = (
                await db.execute(text("SELECT case_number FROM incident WHERE id = :id"), {"id": closed_ids[0]})
            ).scalar_one()
    finally:
        await engine.dispose()
    runs = [await cli_seconds(stack, "audit", "verify", number) for _ in range(3)]
    found["audit_verify_one_case"] = {
        "seconds": round(statistics.median(s for s, _ in runs), 2),
        "output": runs[0][1].splitlines()[-1],
    }
    began = time.monotonic()
    snapshot = await _publish(stack)
    found["publish_snapshot"] = {"seconds": round(time.monotonic() - began, 2), "period_end": snapshot["period_end"]}
    # The first snapshot keeps every chain's head; the next (the schedule's next day) only those that moved since.
    began = time.monotonic()
    await _publish(stack)
    found["publish_snapshot"]["again_seconds"] = round(time.monotonic() - began, 2)
    # Of which the worker's activity, counting and keeping (its log): the rest is the command's own start, the
    # workflow and the activity's dispatch.
    found["publish_snapshot"]["activity_seconds"] = [
        entry["seconds"] for entry in stack.log_entries("worker") if entry.get("event") == "public_snapshot_kept"
    ]
    return found


def department_targets(found: dict) -> dict:
    limit = DEPARTMENT_TARGETS["p99_ms"]
    p99 = {f"cases_search.{name}": ms["p99"] for name, ms in found["cases_search_ms"].items()}
    p99 |= {f"my_work.{who}": ms["p99"] for who, ms in found["my_work_ms"].items()}
    p99["access_trail_one_case"] = found["access_trail_one_case_ms"]["p99"]
    publish = found["publish_snapshot"]["seconds"]
    return {
        f"p99_under_{limit:.0f}ms": {
            "p99_ms": p99,
            "missed": sorted(name for name, ms in p99.items() if ms >= limit),
            "ok": all(ms < limit for ms in p99.values()),
        },
        f"publish_under_{DEPARTMENT_TARGETS['publish_seconds']:.0f}s": {
            "seconds": publish,
            "ok": publish < DEPARTMENT_TARGETS["publish_seconds"],
        },
    }


async def department_async(closed: int, open_cases: int, requests: int, access_per_case: int = 5) -> dict:
    """A department of `closed` closed cases seeded straight into PostgreSQL (the read model, the audit trail with
    each case's hash chain, and access_per_case entries per case in the access trail) and `open_cases` open ones as
    running workflows; what the Cases search, My work, one case's access trail, `referrals audit verify` of a case
    and publishing the public snapshot then take, and the database's size per case."""
    rng = random.Random(32)
    report: dict = {
        "closed_requested": closed,
        "requests_per_measure": requests,
        "machine_cpus": psutil.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in psutil.getloadavg()],
    }
    async with Stack.started() as stack:
        pattern_id = await close_a_case(stack)
        report["open"] = await seed_open(stack, open_cases)
        officers = [(str(uuid.UUID(int=rng.getrandbits(128), version=4)), f"{20000 + n}") for n in range(OFFICERS)]
        with psycopg.connect(_conninfo(stack.database_url)) as conn:
            pattern = ClosedCase.read(conn, pattern_id, stack.user_ids["officer"], str(PEOPLE["officer"][2]))
        began = time.monotonic()
        closed_ids = await asyncio.to_thread(seed_closed, stack.database_url, pattern, closed, officers)
        seconds = time.monotonic() - began
        engine = async_engine(stack.database_url)
        try:
            async with engine.connect() as db:
                every = [row[0] for row in (await db.execute(text("SELECT id FROM incident"))).all()]
        finally:
            await engine.dispose()
        entries = access_per_case * len(every)
        trail_seconds = await asyncio.to_thread(
            access_log.seed, stack.database_url, entries, every, [officer for officer, _ in officers], 32
        )
        settled = await asyncio.to_thread(settle_all, stack.database_url)
        report["cases"] = len(every)
        report["seed"] = {
            "closed_seconds": round(seconds, 1),
            "closed_cases_per_second": round(closed / seconds) if seconds else None,
            "closed_events_per_case": len(pattern.events),
            "access_entries": entries,
            "access_seconds": round(trail_seconds, 1),
            "vacuum_analyze_seconds": round(settled, 1),
        }
        report |= await measure_department(stack, closed_ids, requests, rng)
        report["database"] = await asyncio.to_thread(database_size, stack.database_url, len(every))
        report["database"]["documents_not_seeded_bytes_per_closed_case"] = pattern.documents_bytes
        await asyncio.sleep(2)
        for name in ("worker", "temporal"):
            report[f"{name}_rss_mib"] = round(psutil.Process(stack.pids()[name]).memory_info().rss / 2**20, 1)
    report["targets"] = department_targets(report)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="case counts to measure at, ascending")
    parser.add_argument("--requests", type=int, default=200, help="requests per measured operation")
    parser.add_argument(
        "--department", type=int, metavar="CASES", help="instead of --sizes: a department of this many cases in all"
    )
    parser.add_argument("--open", type=int, default=10_000, help="with --department: how many of them are open")
    parser.add_argument(
        "--access-entries-per-case", type=int, default=ACCESS_ENTRIES_PER_CASE, help="with --department"
    )
    args = parser.parse_args()
    if args.department is not None:
        report = department_async(
            args.department - args.open, args.open, args.requests, access_per_case=args.access_entries_per_case
        )
        print(json.dumps(asyncio.run(report), indent=2))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(json.dumps(asyncio.run(main_async(sizes, args.requests)), indent=2))


if __name__ == "__main__":
    main()
