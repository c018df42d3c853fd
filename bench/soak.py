"""The soak: a working day's load with faults arriving in the middle of it.

    .venv/bin/python -m bench.soak [--users 50] [--minutes 10] [--seed 20261207] [--outage 10]

One stack of real processes (bench/stack.py). `--users` people at once, for `--minutes`, each at their own work
with a pause between one thing and the next, as people do:
- detectives carry Chicago cases from the filing to the charging decision (bench/people.py);
- evidence custodians upload photographs to a case of their own, each upload with its Idempotency-Key;
- analysts search the cases, read a case, its audit trail and its access trail through the API;
- desk users, signed in, open My work, the Cases list and a case's page;
- the public reads the published figures and the list of snapshots.
Meanwhile the worker is SIGKILLed twice (and started again, as its supervisor would), and PostgreSQL is stopped
for `--outage` seconds and started again. A request answered 503, or cut off, is sent again after a pause, with
the same Idempotency-Key where it changes something.

Prints JSON:
- p50 and p99 per operation, of the requests answered below 500;
- every 5xx: when, where, and whether it was a well-formed 503 with Retry-After that came while a part was down
  (`outside_outages` counts those that were not; the target is none);
- what the data ended with: cases lost or duplicated, lifecycles not ending as they should (their trail, documents
  and e-mail: bench/faults.py's EXPECTED), uploads lost or doubled, chains broken (`referrals audit verify`,
  `referrals access-log verify`, `referrals evidence verify`), documents missing or doubled, duplicate e-mails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx
from sqlalchemy import text

from bench.faults import EXPECTED, outcome
from bench.people import People, photo
from bench.stack import Stack
from referrals.store.engine import async_engine
from tests.support.scenario import FILING

PERSONAS = ("detective", "custodian", "analyst", "desk", "public")
SHARE = {"detective": 0.3, "custodian": 0.15, "analyst": 0.2, "desk": 0.2, "public": 0.15}
GIVE_UP_AFTER = 300.0  # seconds past the run's end: a request still unanswered then stops its person (and the run)
SLOW = 2.0  # seconds: an answer slower than this is counted by the fault it met, if any
SEARCHES = ("stage=investigation", "q=Pulaski", "task=legal_review", "district=010", "overdue=true", "limit=50")


@dataclass
class Window:
    """A part of the stack down: from the fault to the moment it was back."""

    what: str
    down: float
    back: float = float("inf")


@dataclass
class Record:
    """Every answer, timed by operation; every 5xx with its moment. (People notes its requests here too.)"""

    began: float
    windows: list[Window] = field(default_factory=list)
    seconds: defaultdict = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    cut_off: Counter = field(default_factory=Counter)  # no HTTP answer: connection refused, reset, timed out
    server_errors: list[dict] = field(default_factory=list)
    slow: Counter = field(default_factory=Counter)  # answers below 500 that took over SLOW seconds, by fault
    by_operation: defaultdict = field(default_factory=lambda: defaultdict(Counter))  # statuses per operation
    cut_off_outside: list[dict] = field(default_factory=list)  # requests left unanswered while no part was down
    closed: bool = False  # the run is over: the checks' own reads are not the load's

    def during(self, sent: float, answered: float) -> list[str]:
        return [w.what for w in self.windows if sent <= w.back and answered >= w.down]

    def unanswered(self, operation: str, error: Exception, seconds: float) -> None:
        if self.closed:
            return
        self.cut_off[type(error).__name__] += 1
        answered = time.monotonic()
        if not self.during(answered - seconds, answered):
            self.cut_off_outside.append(
                {"operation": operation, "error": type(error).__name__, "at_seconds": round(answered - self.began, 2)}
            )

    def note(self, operation: str, response: httpx.Response, seconds: float) -> None:
        if self.closed:
            return
        answered = time.monotonic()
        self.statuses[response.status_code] += 1
        self.by_operation[operation][str(response.status_code)] += 1
        sent = answered - seconds
        during = self.during(sent, answered)
        if response.status_code < 500:
            self.seconds[operation].append(seconds)
            if seconds > SLOW:
                self.slow[" and ".join(during) or "none"] += 1
            return
        self.server_errors.append(
            {
                "operation": operation,
                "status": response.status_code,
                "at_seconds": round(sent - self.began, 2),
                "took_seconds": round(seconds, 2),
                "retry_after": response.headers.get("retry-after"),
                "well_formed": _well_formed(response),
                "during": during,
            }
        )

    def summary(self) -> dict:
        outside = [e for e in self.server_errors if not (e["during"] and e["status"] == 503 and e["well_formed"])]
        return {
            "requests": sum(self.statuses.values()),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "cut_off": dict(self.cut_off),
            "cut_off_outside_faults": self.cut_off_outside,
            "statuses_by_operation": {op: dict(sorted(c.items())) for op, c in sorted(self.by_operation.items())},
            "latency_ms": {
                op: {"n": len(s), "p50": _ms(s, 50), "p99": _ms(s, 99)} for op, s in sorted(self.seconds.items())
            },
            "server_errors": len(self.server_errors),
            "server_errors_well_formed_503_during_outages": len(self.server_errors) - len(outside),
            f"answers_over_{SLOW:g}_s_by_fault": dict(self.slow),
            "server_errors_by_fault": dict(Counter(" and ".join(e["during"]) or "none" for e in self.server_errors)),
            "outside_outages": outside,
        }


def _well_formed(response: httpx.Response) -> bool:
    """A 503 a client can act on: Retry-After in seconds, and the API's error shape (or the desk's error page)."""
    if response.status_code != 503 or not (response.headers.get("retry-after") or "").isdigit():
        return False
    if response.headers.get("content-type", "").startswith("text/html"):
        return "<h1" in response.text
    try:
        error = response.json()["error"]
        return error["code"] == "unavailable" and bool(error["message"])
    except (ValueError, KeyError, TypeError):
        return False


def _ms(samples: list[float], q: int) -> float | None:
    if not samples:
        return None
    if len(samples) == 1:
        return round(samples[0] * 1000, 1)
    return round(statistics.quantiles(samples, n=100, method="inclusive")[q - 1] * 1000, 1)


class Soak:
    def __init__(self, stack: Stack, record: Record, rng: random.Random, until: float, think: float, run: str):
        self.stack, self.record, self.rng, self.until, self.think, self.run = stack, record, rng, until, think, run
        self.people = People(stack.api_url, stack.tokens, stack.temporal_address, record, think, rng, timeout=120)  # type: ignore[arg-type]
        self.http = self.people.http
        self.lifecycles: list[str] = []  # case ids carried to the charging decision
        self.failed: list[str] = []  # what stopped a person's work, in their words
        self.filed: dict[str, str] = {}  # every case filed: id -> Idempotency-Key
        self.filings: list[str] = []  # the case each filing (each its own key) was answered with
        self.uploads: dict[str, list[str]] = defaultdict(list)  # case id -> the item each upload was answered with
        self._n = 0

    async def send(self, operation: str, method: str, path: str, *, client=None, who=None, key=None, **kw):
        """One request, sent again after a pause while it is answered 503 or not at all."""
        headers = dict(kw.pop("headers", {}))
        if who:
            headers["Authorization"] = f"Bearer {self.stack.tokens[who]}"
        if key:
            headers["Idempotency-Key"] = key
        while True:
            started = time.monotonic()
            try:
                response = await (client or self.http).request(method, path, headers=headers, **kw)
            except httpx.TransportError as exc:
                self.record.unanswered(operation, exc, time.monotonic() - started)
                self.people.gave_up(method, path, f"no answer ({type(exc).__name__})")
                await asyncio.sleep(0.5)
                continue
            self.record.note(operation, response, time.monotonic() - started)
            if response.status_code != 503:
                return response
            self.people.gave_up(method, path, "503")
            await asyncio.sleep(0.5)

    def known_case(self) -> str | None:
        return self.rng.choice(list(self.filed)) if self.filed else None

    async def pause(self) -> None:
        await asyncio.sleep(self.rng.uniform(0.2, self.think))

    # --- the people

    async def detective(self, me: int) -> None:
        while time.monotonic() < self.until:
            self._n += 1
            n = self._n
            try:
                self.lifecycles.append(await self.people.lifecycle(n, self.run))
            finally:
                if n in self.people.cases:  # filed, whatever became of the steps
                    self.filed[self.people.cases[n]] = f"{self.run}-{n}"
                    self.filings.append(self.people.cases[n])
            await self.pause()

    async def custodian(self, me: int) -> None:
        key = f"{self.run}-custodian-{me}"
        filed = await self.send("file", "POST", "/incidents", who="officer", key=key, json=FILING)
        if filed.status_code not in (200, 201):
            raise RuntimeError(f"the filing answered {filed.status_code}: {filed.text[:300]}")
        case_id = filed.json()["id"]
        self.filed[case_id] = key
        self.filings.append(case_id)
        n = 0
        while time.monotonic() < self.until:
            n += 1
            files = photo(n, (n % 256, me % 256, 40))
            path = f"/incidents/{case_id}/evidence"
            answer = await self.send("evidence upload", "POST", path, who="officer", key=f"{key}-{n}", files=files)
            if answer.status_code not in (200, 201):
                raise RuntimeError(f"upload {n} answered {answer.status_code}: {answer.text[:300]}")
            self.uploads[case_id].append(answer.json()["id"])
            await self.pause()

    async def analyst(self, me: int) -> None:
        while time.monotonic() < self.until:
            search = self.rng.choice(SEARCHES)
            await self._ok(await self.send("cases search", "GET", f"/incidents?{search}", who="reviewer"))
            if case_id := self.known_case():
                who = "auditor"
                await self._ok(await self.send("case read", "GET", f"/incidents/{case_id}", who=who))
                await self._ok(await self.send("audit trail", "GET", f"/incidents/{case_id}/events", who=who))
                await self._ok(await self.send("access trail", "GET", f"/access-log?case={case_id}", who=who))
            await self.pause()

    async def desk(self, me: int) -> None:
        who = ("officer", "custodian", "reviewer", "commander", "liaison")[me % 5]
        async with httpx.AsyncClient(base_url=self.stack.api_url, timeout=120) as page:
            form = await self.send("desk sign-in", "GET", "/desk/sign-in", client=page, params={"next": "/desk/"})
            csrf = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
            if csrf is None:
                raise RuntimeError(f"the desk's sign-in form has no CSRF token ({form.status_code})")
            data = {"token": self.stack.tokens[who], "csrf_token": csrf.group(1), "next": "/desk/"}
            signed = await self.send("desk sign-in", "POST", "/desk/sign-in", client=page, data=data)
            if signed.status_code != 303:
                raise RuntimeError(f"the desk's sign-in answered {signed.status_code}")
            while time.monotonic() < self.until:
                await self._ok(await self.send("desk my work", "GET", "/desk/", client=page))
                await self._ok(await self.send("desk cases", "GET", "/desk/cases", client=page))
                if case_id := self.known_case():  # (one their roles may not open: refused, in words)
                    answer = await self.send("desk case page", "GET", f"/desk/cases/{case_id}", client=page)
                    await self._ok(answer, also=(403, 404))
                await self.pause()

    async def public(self, me: int) -> None:
        while time.monotonic() < self.until:
            await self._ok(await self.send("public figures", "GET", "/public/stats"))
            await self._ok(await self.send("public snapshots", "GET", "/public/snapshots"))
            await self.pause()

    async def _ok(self, response: httpx.Response, also: tuple[int, ...] = ()) -> None:
        if response.status_code != 200 and response.status_code not in also:
            raise RuntimeError(
                f"{response.request.method} {response.request.url} answered {response.status_code}: {response.text[:200]}"
            )

    async def person(self, persona: str, me: int) -> None:
        """One person at work until the soak ends; what stops them is reported, never swallowed."""
        await asyncio.sleep(self.rng.uniform(0, self.think))  # people do not all begin in the same second
        try:
            await getattr(self, persona)(me)
        except Exception as exc:  # noqa: BLE001 (reported: the soak's figures say what stopped whom)
            self.failed.append(f"{persona} {me}: {type(exc).__name__}: {exc}")


# --- the faults


async def worker_started(stack: Stack, seen: int, timeout: float = 120.0) -> None:
    """Until the worker's log says it has started once more than `seen` times (the restarted one polls)."""
    log = stack.log_dir / "worker.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and log.read_text(errors="replace").count("worker_started") > seen:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the worker did not start again within {timeout:.0f}s; see {log}")


async def faults(stack: Stack, record: Record, seconds: float, outage: float, rng: random.Random) -> list[dict]:
    """The worker killed at a fifth and at two thirds of the run, PostgreSQL stopped at two fifths."""
    done = []
    plan = [(0.2, "worker"), (0.4, "postgres"), (0.65, "worker")]
    kills = 0
    for fraction, what in plan:
        await asyncio.sleep(max(0.0, record.began + fraction * seconds - time.monotonic()))
        if what == "worker":
            window = Window("worker killed", time.monotonic())
            record.windows.append(window)
            stack.kill_worker()
            pause = rng.uniform(0.5, 2.0)
            await asyncio.sleep(pause)
            stack.start_worker()
            kills += 1
            await worker_started(stack, kills)
        else:
            window = Window("postgres stopped", time.monotonic())
            record.windows.append(window)
            await asyncio.to_thread(stack.stop_database)
            await asyncio.sleep(outage)
            await asyncio.to_thread(stack.start_database)
        window.back = time.monotonic()
        done.append(
            {
                "fault": window.what,
                "at_seconds": round(window.down - record.began, 1),
                "down_seconds": round(window.back - window.down, 1),
            }
        )
    return done


# --- what the data ended with


async def cli(stack: Stack, *args: str) -> dict:
    done = await stack.cli(*args)
    last = (done.stdout.strip().splitlines() or [done.stderr.strip()[-300:]])[-1]
    return {"exit": done.returncode, "said": last}


async def data_checks(stack: Stack, soak: Soak) -> dict:
    for case_id in soak.lifecycles:
        await soak.people.until_closed(case_id, 600)
    for case_id in soak.filed:  # the others' documents too: a document still to be made is not missing
        await soak.people.until_documents_made(case_id, 300)
    found = await outcome(stack, soak.people, list(soak.filed))
    by_id = dict(zip(soak.filed, found, strict=True))
    engine = async_engine(stack.database_url)
    try:
        async with engine.connect() as db:
            stored = {row[0] for row in (await db.execute(text("SELECT id FROM incident"))).all()}
            # (case, kind, version) is unique: a document made twice would be its kind's second version, and no case
            # here asks for one (no supplement, no packet after a change).
            doubled = (await db.execute(text("SELECT count(*) FROM document WHERE version > 1"))).scalar_one()
    finally:
        await engine.dispose()
    uploaded = {}
    for case_id in soak.uploads:
        case = (await soak.people.request("GET", f"/incidents/{case_id}", "auditor")).json()
        uploaded[case_id] = {entry["item"]["id"] for entry in case["evidence"]}
    unexpected = [by_id[c]["case_number"] for c in soak.lifecycles if {k: by_id[c][k] for k in EXPECTED} != EXPECTED]
    return {
        "cases_filed": len(soak.filed),
        "lifecycles_completed": len(soak.lifecycles),
        "cases_lost": len(set(soak.filed) - stored),
        # Another case than filed (in PostgreSQL, not answered to a filing), or two filings answered with one case.
        "cases_duplicated": len(stored - set(soak.filed)) + len(soak.filings) - len(set(soak.filings)),
        "lifecycles_not_as_expected": unexpected,
        "uploads_answered": sum(len(ids) for ids in soak.uploads.values()),
        "uploads_lost": sum(len(set(ids) - uploaded[c]) for c, ids in soak.uploads.items()),
        # An item no upload was answered with, or two uploads (each its own key) answered with one item.
        "uploads_doubled": sum(
            len(uploaded[c] - set(ids)) + len(ids) - len(set(ids)) for c, ids in soak.uploads.items()
        ),
        "documents_missing_or_not_as_hashed": [c["case_number"] for c in found if not c["documents_as_hashed"]],
        "documents_doubled": doubled,
        "duplicate_emails": sum(max(0, c["emails"] - 1) for c in found),
        "email_copies_resent": sum(c["copies"] - c["emails"] for c in found),  # same Message-ID: receivers drop them
        "audit_verify": await cli(stack, "audit", "verify"),
        "access_log_verify": await cli(stack, "access-log", "verify"),
        "evidence_verify": await cli(stack, "evidence", "verify"),
    }


async def soak(
    *, users: int, seconds: float, outage: float, seed: int, think: float = 3.0, request_timeout: float = 20.0
) -> dict:
    if users < len(PERSONAS):
        raise ValueError(f"--users {users}: at least {len(PERSONAS)}, one of each kind of person")
    rng = random.Random(seed)
    async with Stack.started(request_timeout=request_timeout) as stack:
        # The public reads figures that exist (the schedule publishes daily): the API loads the latest as it starts.
        published = await cli(stack, "publish")
        stack.stop_api()
        await stack.start_api()
        record = Record(began=time.monotonic())
        run = f"soak-{seed}-{int(time.time())}"
        work = Soak(stack, record, rng, record.began + seconds, think, run)
        work.people.give_up_at = work.until + GIVE_UP_AFTER
        counts = {p: max(1, round(users * SHARE[p])) for p in PERSONAS}
        counts["detective"] += users - sum(counts.values())
        people = [work.person(p, i) for p in PERSONAS for i in range(counts[p])]
        broken, *_ = await asyncio.gather(faults(stack, record, seconds, outage, rng), *people)
        ran = time.monotonic() - record.began
        record.closed = True
        data = await data_checks(stack, work)
        await work.people.aclose()
    return {
        "users": counts,
        "seconds": round(ran, 1),
        "seed": seed,
        "published_at_start": published,
        "faults": broken,
        "api": record.summary(),
        "stopped_people": work.failed,
        "data": data,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--outage", type=float, default=10.0, help="seconds PostgreSQL stays stopped")
    parser.add_argument("--think", type=float, default=3.0, help="most seconds a person waits between two things")
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    report = asyncio.run(
        soak(users=args.users, seconds=args.minutes * 60, outage=args.outage, seed=args.seed, think=args.think)
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
