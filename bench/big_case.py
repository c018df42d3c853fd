"""Benchmark: a big case through the HTTP API on a whole stack of real processes (bench/stack.py), beside small
ones on the same stack: 300 evidence items (small PNGs), 40 people with 80 statements, 30 supplements with 20
corrections, a legal review of 6 subjects, and 5 referral packet versions (the first at command approval; then a
held subject referred, a supplement or an evidence item each, after the approval, make the next).

    .venv/bin/python -m bench.big_case [--scale 0.1] [--evidence N ...] [--reads 50] [--small-cases 5]
                                       [--big-cases 3] [--pdf]

Prints JSON: each step's p50 on the big cases against the same step on the small cases (and the ratio; a lifecycle
step is taken once per case, so its p50 is over the big cases, three by default); the first big case's: the desk's
case page and the API's case read, p50 and p99; each packet version's render (the worker's render histogram) and
its Word and PDF time (the document rows' timestamps); the workflow history's size per run, whether and after which
step the case continued as new, the largest event and the carried input against Temporal's 2 MB payload limit; the
worker's peak memory (psutil RSS, sampled). No figure is judged here but against the issue's targets, reported with
what they were measured from.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import time
from collections.abc import Awaitable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.people import photo
from bench.stack import Stack
from bench.upload import Sampler, mib
from referrals.devstack import procs
from referrals.domain.case import workflow_id_for
from referrals.store.engine import async_engine
from tests.support.scenario import (
    ACK,
    APPROVE,
    DECLINED,
    FILING,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    SUBJECT,
    VIOLATIONS,
    at,
    dated,
)

CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
PAYLOAD_LIMIT = 2 * 1024 * 1024  # Temporal's default blob size limit (limit.blobSize.error)


@dataclass(frozen=True)
class Size:
    evidence: int = 300
    people: int = 40
    statements: int = 80
    supplements: int = 30
    corrections: int = 20
    subjects: int = 6
    packet_versions: int = 5

    def scaled(self, scale: float) -> Size:
        def of(n: int, least: int) -> int:
            return max(least, round(n * scale))

        return Size(
            evidence=of(self.evidence, 1),
            people=of(self.people, 1),
            statements=of(self.statements, 0),
            supplements=of(self.supplements, 0),
            corrections=of(self.corrections, 0),
            subjects=of(self.subjects, 1),
            packet_versions=of(self.packet_versions, 1),
        )

    def after_approval(self) -> list[str]:
        """What makes each packet version after the first: a held subject referred (two at most, a subject stays
        referred at the review), then supplements and evidence items in turn."""
        extra = self.packet_versions - 1
        held = min(2, extra, self.subjects - 1)
        plan = ["held-subject-review"] * held
        supplements = evidence = 0
        while len(plan) < extra:
            if supplements <= evidence and supplements < self.supplements:
                plan.append("supplements")
                supplements += 1
            elif evidence < self.evidence:
                plan.append("evidence")
                evidence += 1
            else:
                raise ValueError(f"{self}: too few supplements and evidence items for {self.packet_versions} versions")
        return plan


# A small case: every step the big one takes, a few of each.
SMALL = Size(evidence=3, people=2, statements=2, supplements=3, corrections=1, subjects=2, packet_versions=4)


def _ms(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered) * 1000, 1),
        "p99": round(p99 * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
    }


@dataclass
class Timings:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    log: list[tuple[str, float]] = field(default_factory=list)  # (operation, wall clock at its answer)
    retried_503: int = 0


class CaseRun:
    """Drives one case through the API as the roles do, timing every request by operation."""

    def __init__(
        self, http: httpx.AsyncClient, tokens: dict[str, str], size: Size, label: str, on_version=None
    ) -> None:
        self.http, self.tokens, self.size, self.label = http, tokens, size, label
        self.on_version = on_version  # awaited once each packet version is stored
        self.timings = Timings()
        self.case_id = ""
        self.subjects = [f"agent {i + 1}" for i in range(size.subjects)]
        self.held = self.subjects[1 : 1 + size.after_approval().count("held-subject-review")]
        self.versions: list[dict] = []  # each packet version: what made it, how long until it was stored
        self._n = 0

    async def _send(self, operation: str, who: str, method: str, path: str, **kwargs) -> httpx.Response:
        self._n += 1
        headers = {"Authorization": f"Bearer {self.tokens[who]}", "Idempotency-Key": f"{self.label}-{self._n}"}
        started = time.monotonic()
        while True:
            try:
                response = await self.http.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code != 503:
                break
            self.timings.retried_503 += 1
            await asyncio.sleep(0.5)
        self.timings.seconds.setdefault(operation, []).append(time.monotonic() - started)
        self.timings.log.append((operation, time.time()))
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{self.label}: {operation} answered {response.status_code}: {response.text[:2000]}")
        return response

    async def step(self, operation: str, who: str, path: str, body: dict) -> dict:
        response = await self._send(operation, who, "POST", f"/incidents/{self.case_id}/{path}", json=dated(body))
        return response.json()

    async def upload(self, n: int, operation: str = "evidence") -> None:
        files = photo(n, (n % 256, 40, 40))
        await self._send(operation, "officer", "POST", f"/incidents/{self.case_id}/evidence", files=files)

    async def add_person(self, n: int, statements: int) -> None:
        person = {
            "part": "witness" if n % 3 else "victim",
            "name": f"Witness {n}",
            "contact": {"phone": f"312-555-{n % 10000:04d}"},
            "statements": [
                {
                    "text": f"Statement {s + 1} of witness {n}: "
                    + "I saw the agent in the grey vest swing at her. " * 4,
                    "taken_by": "P.O. Ana Ruiz (12345)",
                    "taken_at": at(20 + s),
                    "place": "on scene",
                }
                for s in range(statements)
            ],
        }
        await self.step("people", "officer", "people", person)

    async def supplement(self, n: int, correction: bool, operation: str = "supplements") -> None:
        body: dict = {"narrative": f"Supplementary report {n}: a further canvass of the block. " * 3}
        if correction:
            field_name = ("location", "summary", "narrative")[n % 3]
            body["corrections"] = [
                {"field": field_name, "value": f"{FILING[field_name]} (corrected, supplement {n})", "reason": "typo"}
            ]
        await self.step(operation, "officer", "supplements", body)

    def review(self) -> dict:
        review_by = (date.today() + timedelta(days=30)).isoformat()
        subjects = []
        for name in self.subjects:
            subject = {**SUBJECT, "subject": name}
            if name in self.held:
                subject |= {
                    "disposition": "held",
                    "held": {"awaiting": "CBP's answer to Touhy request T1", "review_by": review_by},
                }
            subjects.append(subject)
        return {"decision": "refer", "rationale": "The force was gratuitous.", "subjects": subjects}

    async def settled(self, timeout: float = 300.0) -> None:
        """Until no document of the case is pending."""
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"Bearer {self.tokens['auditor']}"}
        while time.monotonic() < deadline:
            response = await self.http.get(f"/incidents/{self.case_id}", headers=headers)
            if response.status_code == 200 and not response.json()["documents_pending"]:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.label}: documents still pending after {timeout:.0f}s")

    async def grow(self) -> None:
        """File, then the evidence, people and supplements before the approval, interleaved so the case grows
        evenly."""
        response = await self._send("file", "officer", "POST", "/incidents", json=dated(FILING))
        self.case_id = response.json()["id"]
        plan = self.size.after_approval()
        evidence = self.size.evidence - plan.count("evidence")
        supplements = self.size.supplements - plan.count("supplements")
        people = self.size.people
        per_person = [self.size.statements // people + (i < self.size.statements % people) for i in range(people)]
        work: list[tuple[float, str, int]] = []
        work += [((i + 0.5) / evidence, "evidence", i) for i in range(evidence)]
        work += [((i + 0.3) / people, "people", i) for i in range(people)]
        work += [((i + 0.7) / max(1, supplements), "supplements", i) for i in range(supplements)]
        for _, kind, i in sorted(work):
            if kind == "evidence":
                await self.upload(i + 1)
            elif kind == "people":
                await self.add_person(i + 1, per_person[i])
            else:
                await self.supplement(i + 1, i < self.size.corrections)

    async def to_approval(self) -> None:
        await self.step("footage-hold", "custodian", "footage-hold", {"holds": [HOLD_1, HOLD_2]})
        await self.step("supervisor-identification", "officer", "supervisor-identification", IDENTIFIED)
        await self.step("violation-report", "officer", "violation-report", VIOLATIONS)
        await self.step("legal-review", "reviewer", "legal-review", self.review())
        await self._versioned(
            "command-approval", self.step("command-approval", "commander", "command-approval", APPROVE)
        )

    async def later_versions(self) -> None:
        plan = self.size.after_approval()
        held = iter(self.held)
        supplements = self.size.supplements - plan.count("supplements")
        evidence = self.size.evidence - plan.count("evidence")
        for what in plan:
            made: Awaitable[Any]
            if what == "held-subject-review":
                body = {"subject": next(held), "disposition": "referred", "rationale": "CBP's video shows the blow."}
                made = self.step("held-subject-review", "reviewer", "held-subject-review", body)
            elif what == "supplements":
                supplements += 1
                made = self.supplement(supplements, False, "supplements (new packet version)")
            else:
                evidence += 1
                made = self.upload(evidence, "evidence (new packet version)")
            await self._versioned(what, made)

    async def _versioned(self, what: str, step: Awaitable[Any]) -> None:
        await self.settled()  # the version before is stored: this step's version is made alone
        await step
        answered = time.monotonic()
        await self.settled()
        self.versions.append(
            {"made_by": what, "stored_seconds_after_the_answer": round(time.monotonic() - answered, 3)}
        )
        if self.on_version is not None:
            await self.on_version()

    async def pause(self, client: Client, seconds: float) -> None:
        """People stop to read the case: a case due to continue as new hands itself on once quiet (its quiet period,
        a second), not in the middle of a burst of steps. Up to `seconds` for that handover (none if not due)."""
        await self.settled()
        handle = client.get_workflow_handle(workflow_id_for(self.case_id))
        run = (await handle.describe()).run_id
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and (await handle.describe()).run_id == run:
            await asyncio.sleep(0.1)

    async def to_the_end(self) -> None:
        await self.step("referral-acknowledgement", "liaison", "referral-acknowledgement", ACK)
        await self.step("charging-decision", "liaison", "charging-decision", DECLINED)


async def render_sums(http: httpx.AsyncClient, url: str) -> dict[str, float]:
    """The worker's render histogram for the referral packet: {"sum": seconds, "count": n}."""
    text_ = (await http.get(url)).text
    found = {"sum": 0.0, "count": 0.0}
    for line in text_.splitlines():
        match = re.match(r"referrals_document_render_seconds_(sum|count)\{([^}]*)\} (\S+)", line)
        if match and 'kind="referral_packet"' in match.group(2):
            found[match.group(1)] += float(match.group(3))
    return found


async def reads(http: httpx.AsyncClient, stack: Stack, case_id: str, n: int) -> dict:
    """The API's case read and the desk's case page, each `n` times, signed in as the legal reviewer."""
    api, desk = [], []
    headers = {"Authorization": f"Bearer {stack.tokens['reviewer']}"}
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as page:
        form = await page.get("/desk/sign-in", params={"next": "/desk/"})
        csrf = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
        assert csrf is not None, form.text[:500]
        signed = await page.post(
            "/desk/sign-in", data={"token": stack.tokens["reviewer"], "csrf_token": csrf.group(1), "next": "/desk/"}
        )
        if signed.status_code != 303:
            raise RuntimeError(f"the desk's sign-in answered {signed.status_code}: {signed.text[:500]}")
        # The desk's first case page since the API started, apart: it compiles the page's templates, once per process
        # (the API's read has been made by then: the steps above read the case). The p50 and p99 are of the reads after.
        sizes: dict = {}
        started = time.monotonic()
        assert (await page.get(f"/desk/cases/{case_id}")).status_code == 200
        sizes["desk_first_page_ms"] = round((time.monotonic() - started) * 1000, 1)
        for _ in range(n):
            started = time.monotonic()
            response = await http.get(f"/incidents/{case_id}", headers=headers)
            api.append(time.monotonic() - started)
            assert response.status_code == 200, response.text[:500]
            sizes["api_bytes"] = len(response.content)
            started = time.monotonic()
            response = await page.get(f"/desk/cases/{case_id}")
            desk.append(time.monotonic() - started)
            assert response.status_code == 200, response.text[:500]
            sizes["desk_bytes"] = len(response.content)
    return {"api_case_read_ms": _ms(api), "desk_case_page_ms": _ms(desk), **sizes}


async def until_workflow_closed(client: Client, case_id: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await client.get_workflow_handle(workflow_id_for(case_id)).describe()).close_time is not None:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the workflow of {case_id} did not finish within {timeout:.0f}s")


def _payload_bytes(event) -> int:
    """The bytes of every payload an event carries (its input, result, update or query arguments...)."""
    total = 0

    def walk(message) -> None:
        nonlocal total
        for descriptor, value in message.ListFields():
            if descriptor.message_type is None:
                continue
            if descriptor.message_type.GetOptions().map_entry:
                items = list(value.values())
            elif hasattr(value, "ListFields"):
                items = [value]
            else:
                items = list(value)
            for item in items:
                if not hasattr(item, "ListFields"):
                    continue
                if item.DESCRIPTOR.full_name == "temporal.api.common.v1.Payload":
                    total += item.ByteSize()
                else:
                    walk(item)

    walk(event)
    return total


async def history(client: Client, case_id: str, log: list[tuple[str, float]]) -> dict:
    """Each run of the case's workflow: its events and bytes, its largest event and payloads; which step the case
    had answered when a run continued as new, and the input it carried."""
    workflow_id = workflow_id_for(case_id)
    runs = [run async for run in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    runs.sort(key=lambda run: run.start_time)
    out = []
    for run in runs:
        events = (await client.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history()).events
        largest = max(events, key=lambda e: e.ByteSize())
        largest_payload = max(events, key=_payload_bytes)
        entry = {
            "run_id": run.run_id,
            "events": len(events),
            "bytes": sum(e.ByteSize() for e in events),
            "started_input_bytes": _payload_bytes(events[0]),
            "largest_event": {"type": EventType.Name(largest.event_type), "bytes": largest.ByteSize()},
            "largest_payload": {
                "type": EventType.Name(largest_payload.event_type),
                "bytes": _payload_bytes(largest_payload),
            },
        }
        # Beside the run's input and the input it hands on: the largest payload of a step, activity or document.
        inner = [e for e in events if e.event_type not in (EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, CONTINUED)]
        if inner:
            largest_inner = max(inner, key=_payload_bytes)
            entry["largest_payload_within"] = {
                "type": EventType.Name(largest_inner.event_type),
                "bytes": _payload_bytes(largest_inner),
            }
        last = events[-1]
        if last.event_type == CONTINUED:
            carried = _payload_bytes(last)
            ended = last.event_time.ToDatetime().timestamp()
            answered = [(operation, when) for operation, when in log if when <= ended]
            entry["continued_as_new"] = {
                "input_bytes": carried,
                "of_the_2mb_limit": round(carried / PAYLOAD_LIMIT, 4),
                "after_operations": len(answered),
                "after": answered[-1][0] if answered else None,
                # Were the case to grow on as it grew so far, the operations it could answer before its carried
                # input reached the limit (linear: each operation's events and state carried on).
                "operations_until_2mb_at_that_rate": int(PAYLOAD_LIMIT / (carried / len(answered)))
                if answered
                else None,
            }
        out.append(entry)
    return {"runs": out, "continued_as_new": len(out) > 1}


async def documents(database_url: str, case_id: str) -> list[dict]:
    engine = async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT d.version, d.size, d.created_at, p.created_at, p.size, p.unavailable "
                    "FROM document d LEFT JOIN document_pdf p ON p.document_id = d.id "
                    "WHERE d.case_id = :case AND d.kind = 'referral_packet' ORDER BY d.version"
                ),
                {"case": case_id},
            )
            return [
                {
                    "version": version,
                    "docx_bytes": size,
                    "word_and_pdf_seconds": round((pdf_at - made_at).total_seconds(), 3) if pdf_at else None,
                    "pdf_bytes": pdf_size,
                    "pdf_unavailable": unavailable,
                }
                for version, size, made_at, pdf_at, pdf_size, unavailable in rows
            ]
    finally:
        await engine.dispose()


async def carried_estimate(http: httpx.AsyncClient, tokens: dict[str, str], case_id: str) -> dict:
    """How large the case may grow before a payload reaches Temporal's limit. A run continued as new carries the case
    and its audit chain's head, not its events (1.1.0), and each step's write sends the case: the case's own size is
    what nears the limit. Its parts as the API reads them show what makes it up."""
    headers = {"Authorization": f"Bearer {tokens['auditor']}"}
    case = (await http.get(f"/incidents/{case_id}", headers=headers)).content
    events = (await http.get(f"/incidents/{case_id}/events", headers=headers)).json()
    count = len(events.get("events", events.get("items", [])) if isinstance(events, dict) else events)
    parts = {
        name: {"items": len(value), "bytes": len(json.dumps(value).encode())}
        for name, value in json.loads(case).items()
        if isinstance(value, list) and value
    }
    return {
        "case_json_bytes": len(case),
        "audit_events": count,
        "audit_events_json_bytes": len(json.dumps(events).encode()),
        "parts": dict(sorted(parts.items(), key=lambda part: -part[1]["bytes"])),
        "case_may_grow_times": round(PAYLOAD_LIMIT / len(case), 1),
    }


def _stack_class(
    pdf: bool, metrics_port: int, continue_after_events: int | None, quiet_seconds: float | None = None
) -> type[Stack]:
    class Measured(Stack):
        def env(self) -> dict[str, str]:
            env = super().env() | {"REFERRALS_WORKER_METRICS_BIND": f"127.0.0.1:{metrics_port}"}
            if continue_after_events is not None:  # sooner than Temporal suggests (README: the lifecycle)
                env["REFERRALS_CONTINUE_AFTER_EVENTS"] = str(continue_after_events)
            if quiet_seconds is not None:  # a case hands itself on once quiet this long (a second: README)
                env["REFERRALS_DOCUMENTS_QUIET_SECONDS"] = str(quiet_seconds)
            if pdf and os.environ.get("REFERRALS_PDF_CONVERTER", "off") == "off":
                env.pop("REFERRALS_PDF_CONVERTER")  # the worker starts its own LibreOffice
            return env

    return Measured


def _steps(bigs: list[Timings], small: Timings) -> dict:
    """Each operation's times on the big cases (all of them: a lifecycle step is taken once per case) against the small
    cases'; for the repeated ones, also the last tenth of each big case's, when it is largest."""
    out = {}
    for operation in dict.fromkeys([*small.seconds, *(op for big in bigs for op in big.seconds)]):
        b = [x for big in bigs for x in big.seconds.get(operation, [])]
        s = small.seconds.get(operation, [])
        entry = {"big": _ms(b), "small": _ms(s)}
        each = [big.seconds.get(operation, []) for big in bigs]
        if each and min(len(e) for e in each) >= 10:
            entry["big_last_tenth"] = _ms([x for e in each for x in e[-max(1, len(e) // 10) :]])
        if b and s:
            entry["ratio"] = round(entry["big"]["p50"] / entry["small"]["p50"], 2)
        out[operation] = entry
    return out


async def main_async(
    size: Size = Size(),
    reads_n: int = 50,
    small_cases: int = 5,
    pdf: bool = False,
    small: Size = SMALL,
    continue_after_events: int | None = None,
    quiet_seconds: float | None = None,
    big_cases: int = 1,
) -> dict:
    """`big_cases`: the lifecycle's steps, taken once per case, are timed on that many big cases (their p50 is over
    them); the reads, packets, history and memory are the first's."""
    metrics_port = procs.free_port()
    async with _stack_class(pdf, metrics_port, continue_after_events, quiet_seconds).started() as stack:
        client = await Client.connect(stack.temporal_address)
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=120, limits=limits) as http:
            # The worker's RSS, alone and with its children (LibreOffice, when it makes PDFs), on threads.
            worker_pid = stack.pids()["worker"]
            samplers = ExitStack()
            alone = samplers.enter_context(Sampler(worker_pid, children=False))
            with_children = samplers.enter_context(Sampler(worker_pid))
            started = time.monotonic()
            small_timings = Timings()
            for n in range(small_cases):
                run = CaseRun(http, stack.tokens, small, f"small-{n}")
                await run.grow()
                await run.to_approval()
                await run.later_versions()
                await run.to_the_end()
                for operation, samples in run.timings.seconds.items():
                    small_timings.seconds.setdefault(operation, []).extend(samples)
            small_seconds = time.monotonic() - started

            metrics = f"http://127.0.0.1:{metrics_port}/metrics"
            sums: list[dict[str, float]] = []  # the render histogram's sums, before and after each version

            async def on_version() -> None:
                sums.append(await render_sums(http, metrics))

            started = time.monotonic()
            big = CaseRun(http, stack.tokens, size, "big", on_version)
            await big.grow()
            grown = time.monotonic() - started
            await on_version()
            await big.to_approval()
            await big.later_versions()
            await big.pause(client, 3.0)
            read = await reads(http, stack, big.case_id, reads_n)
            carried = await carried_estimate(http, stack.tokens, big.case_id)
            await big.to_the_end()
            big_seconds = time.monotonic() - started
            await until_workflow_closed(client, big.case_id)
            samplers.close()
            memory = {
                "samples": len(alone.samples),
                "at_start_mib": mib(alone.samples[0]),
                "peak_mib": mib(alone.peak),
                "with_children_peak_mib": mib(with_children.peak),
            }
            histories = await history(client, big.case_id, big.timings.log)
            rows = await documents(stack.database_url, big.case_id)
            more: list[Timings] = []
            more_started = time.monotonic()
            for n in range(1, big_cases):  # the same case again, for the lifecycle steps' p50
                again = CaseRun(http, stack.tokens, size, f"big-{n}")
                await again.grow()
                await again.to_approval()
                await again.later_versions()
                await again.pause(client, 3.0)
                await again.to_the_end()
                more.append(again.timings)
            more_seconds = time.monotonic() - more_started

    render_seconds = [
        round(after["sum"] - prior["sum"], 3) if after["count"] > prior["count"] else None
        for prior, after in zip(sums, sums[1:], strict=False)
    ]
    for row, version, render in zip(rows, big.versions, render_seconds, strict=False):
        row |= version | {"render_seconds": render}
    largest_event = max((r["largest_event"]["bytes"] for r in histories["runs"]), default=0)
    largest_payload = max((r["largest_payload"]["bytes"] for r in histories["runs"]), default=0)
    carried_bytes = [r["continued_as_new"]["input_bytes"] for r in histories["runs"] if "continued_as_new" in r]
    packet_seconds = [r["word_and_pdf_seconds"] for r in rows if r["word_and_pdf_seconds"] is not None]
    steps = _steps([big.timings, *more], small_timings)
    pdfs = pdf or os.environ.get("REFERRALS_PDF_CONVERTER", "off") != "off"
    return {
        "size": asdict(size),
        "big_cases": big_cases,
        "small_case": asdict(small) | {"cases": small_cases},
        "pdf": pdfs,
        "continue_after_events": continue_after_events,
        "seconds": {
            "small_cases": round(small_seconds, 1),
            "big_case": round(big_seconds, 1),
            "big_grown": round(grown, 1),
            "more_big_cases": round(more_seconds, 1),
        },
        "retried_503": sum(t.retried_503 for t in [big.timings, *more]),
        "steps_ms": steps,
        "reads": {"n": reads_n, **read},
        "packet": {"versions": rows},
        "history": histories,
        "payloads": {
            "limit_bytes": PAYLOAD_LIMIT,
            "largest_event_bytes": largest_event,
            "largest_payload_bytes": largest_payload,
            "largest_payload_of_the_limit": round(largest_payload / PAYLOAD_LIMIT, 4),
            "continue_as_new_input_bytes": carried_bytes,
            "carried_estimate": carried,
        },
        "worker_rss": memory,
        "targets": {
            "step_p50_within_1.5x_of_a_small_case": {
                "ratios": {op: entry["ratio"] for op, entry in steps.items() if "ratio" in entry},
                "ok": all(entry["ratio"] <= 1.5 for entry in steps.values() if "ratio" in entry),
            },
            "case_reads_p99_under_300ms": {
                "api_p99_ms": read["api_case_read_ms"]["p99"],
                "desk_p99_ms": read["desk_case_page_ms"]["p99"],
                "ok": max(read["api_case_read_ms"]["p99"], read["desk_case_page_ms"]["p99"]) < 300,
            },
            "packet_word_and_pdf_under_3s": {
                "max_seconds": max(packet_seconds, default=None),
                "pdf": pdfs,
                "ok": bool(packet_seconds) and max(packet_seconds) < 3,
            },
            "payloads_under_2mb": {
                "largest_bytes": max([largest_payload, *carried_bytes]),
                "ok": max([largest_payload, *carried_bytes]) < PAYLOAD_LIMIT,
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="every quantity of the big case times this")
    for name, value in asdict(Size()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, help=f"(default {value} times --scale)")
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--small-cases", type=int, default=5)
    parser.add_argument(
        "--big-cases", type=int, default=3, help="big cases whose lifecycle steps are timed (the first is read, too)"
    )
    parser.add_argument("--pdf", action="store_true", help="the worker starts its own LibreOffice for the PDFs")
    parser.add_argument(
        "--continue-after-events", type=int, help="REFERRALS_CONTINUE_AFTER_EVENTS (default: when Temporal suggests)"
    )
    args = parser.parse_args()
    size = Size().scaled(args.scale)
    size = replace(size, **{n: v for n in asdict(size) if (v := getattr(args, n)) is not None})
    report = asyncio.run(
        main_async(
            size,
            args.reads,
            args.small_cases,
            args.pdf,
            continue_after_events=args.continue_after_events,
            big_cases=args.big_cases,
        )
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
