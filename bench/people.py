"""People carrying Chicago scenarios through the HTTP API, as the drills and benchmarks need them:
every request timed by operation, and what got 503 or no answer sent again with its Idempotency-Key."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx
from temporalio.client import Client

from referrals.domain.case import workflow_id_for
from tests.support.evidence_files import png
from tests.support.scenario import (
    ACK,
    APPROVE,
    DECLINED,
    FILING,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    REFER,
    VIOLATIONS,
    at,
    dated,
)

STEPS = (
    ("footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]}, "footage_hold"),
    ("supervisor-identification", "officer", IDENTIFIED, "supervisor_identification"),
    ("violation-report", "officer", VIOLATIONS, "violation_report"),
    ("legal-review", "reviewer", REFER, "legal_review"),
    ("command-approval", "commander", APPROVE, "command_approval"),
    ("referral-acknowledgement", "liaison", ACK, "referral_acknowledgement"),
    ("charging-decision", "liaison", DECLINED, "charging_decision"),  # declined: the case closes, referred
)


def photo(n: int, rgb: tuple[int, int, int]) -> dict:
    """An evidence upload's multipart parts: photograph `n` of the scene (a small PNG of its own) and its metadata."""
    metadata = {
        "kind": "photo",
        "description": f"photograph {n} of the scene",
        "source": "cpd",
        "collected_by": "P.O. A. Rivera, star 12345",
        "collected_at": at(60),
    }
    return {
        "metadata": (None, json.dumps(metadata), "application/json"),
        "file": (f"scene-{n}.png", png(4 + n % 7, 3, rgb), "application/octet-stream"),
    }


@dataclass
class Answers:
    """How the API answered while the drill ran."""

    statuses: Counter = field(default_factory=Counter)
    cut_off: Counter = field(default_factory=Counter)  # no HTTP answer: connection refused, reset, timed out
    malformed_503: int = 0
    slowest: float = 0.0
    seconds: defaultdict = field(default_factory=lambda: defaultdict(list))  # by operation, answered ones

    def note(self, operation: str, response: httpx.Response, seconds: float) -> None:
        self.statuses[response.status_code] += 1
        self.slowest = max(self.slowest, seconds)
        if response.status_code < 500:
            self.seconds[operation].append(seconds)
        if response.status_code == 503:
            try:
                error = response.json()["error"]
                well_formed = error["code"] == "unavailable" and bool(error["message"])
            except (ValueError, KeyError, TypeError):
                well_formed = False
            self.malformed_503 += not well_formed

    def unanswered(self, operation: str, error: Exception, seconds: float) -> None:
        self.cut_off[type(error).__name__] += 1

    def summary(self) -> dict:
        return {
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "cut_off": dict(self.cut_off),
            "malformed_503": self.malformed_503,
            "slowest_seconds": round(self.slowest, 2),
        }


class People:
    """Drives lifecycles through the API and retries what the stack could not answer."""

    def __init__(
        self,
        api_url: str,
        tokens: dict[str, str],
        temporal_address: str,
        answers: Answers,
        think: float = 0.0,
        rng: random.Random | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.tokens = tokens
        self.temporal_address = temporal_address
        self.answers = answers
        self.think = think
        self.rng = rng or random.Random(0)
        self.http = httpx.AsyncClient(
            base_url=api_url, timeout=timeout, limits=httpx.Limits(max_connections=200, max_keepalive_connections=200)
        )
        self._temporal: Client | None = None
        self.steps_in_flight: dict[int, float] = {}  # when each step request now waiting was sent
        self.filed = self.finished = 0  # lifecycles begun, and carried to the acknowledgement
        self.give_up_at: float | None = None  # past this moment (time.monotonic()), a request unanswered is an error
        self.cases: dict[int, str] = {}  # each lifecycle's case, once filed

    async def request(
        self,
        method: str,
        path: str,
        who: str,
        body: dict | None = None,
        key: str | None = None,
        operation: str = "read",
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        if key:
            headers["Idempotency-Key"] = key
        while True:
            started = time.monotonic()
            try:
                response = await self.http.request(method, path, json=dated(body), headers=headers)
            except httpx.TransportError as exc:
                self.answers.unanswered(operation, exc, time.monotonic() - started)
                self.gave_up(method, path, f"no answer ({type(exc).__name__})")
                await asyncio.sleep(0.5)
                continue
            self.answers.note(operation, response, time.monotonic() - started)
            if response.status_code != 503:
                return response
            self.gave_up(method, path, "503")
            await asyncio.sleep(0.5)

    def gave_up(self, method: str, path: str, answer: str) -> None:
        """Past `give_up_at`, a request still not answered is not sent again: the run reports it, rather than wait."""
        if self.give_up_at is not None and time.monotonic() > self.give_up_at:
            raise RuntimeError(f"{method} {path}: still {answer} when the run gave up waiting")

    async def lifecycle(self, n: int, run: str) -> str:
        self.steps_in_flight[n] = time.monotonic()  # (the filing too: a fault may wait for a request in flight)
        try:
            response = await self.request("POST", "/incidents", "officer", FILING, key=f"{run}-{n}", operation="file")
        finally:
            del self.steps_in_flight[n]
        if response.status_code not in (200, 201):
            raise RuntimeError(f"case {n}: filing answered {response.status_code}: {response.text}")
        case_id = self.cases[n] = response.json()["id"]
        self.filed += 1
        for path, who, body, task in STEPS:
            await asyncio.sleep(self.rng.uniform(0, self.think))
            self.steps_in_flight[n] = time.monotonic()
            try:
                response = await self.request(
                    "POST", f"/incidents/{case_id}/{path}", who, body, key=f"{run}-{n}-{path}", operation=path
                )
            finally:
                del self.steps_in_flight[n]
            if response.status_code == 200:
                continue
            # An earlier attempt may have gone through although its answer was lost.
            case = (await self.request("GET", f"/incidents/{case_id}", "auditor")).json()
            if response.status_code != 409 or case["tasks"][task]["status"] != "done":
                raise RuntimeError(f"case {n}: {path} answered {response.status_code}: {response.text}")
        self.finished += 1
        return case_id

    async def until_closed(self, case_id: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            case = (await self.request("GET", f"/incidents/{case_id}", "auditor")).json()
            # Closed, and the packet e-mailed (the workflow completes after its last delivery).
            if case["stage"] == "closed" and (await self._workflow_closed(case_id)):
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(f"case {case_id} did not finish within {timeout:.0f}s")

    async def until_documents_made(self, case_id: str, timeout: float) -> None:
        """Until the case has no document still to be made (the document maker runs below the steps: under load, it
        catches up once they leave it a core)."""
        deadline = time.monotonic() + timeout
        while (await self.request("GET", f"/incidents/{case_id}", "auditor")).json()["documents_pending"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"case {case_id}'s documents were not made within {timeout:.0f}s")
            await asyncio.sleep(0.5)

    async def until_done(self, case_ids: list[str], timeout: float = 300) -> None:
        """Until every case's workflow has completed (asking Temporal, not the API, whose CPU is measured)."""
        deadline, pending = time.monotonic() + timeout, set(case_ids)
        while pending:
            for case_id in list(pending):
                if await self._workflow_closed(case_id):
                    pending.discard(case_id)
            if pending:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{len(pending)} case(s) did not finish within {timeout:.0f}s")
                await asyncio.sleep(0.25)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _workflow_closed(self, case_id: str) -> bool:
        self._temporal = self._temporal or await Client.connect(self.temporal_address)
        description = await self._temporal.get_workflow_handle(workflow_id_for(case_id)).describe()
        return description.close_time is not None
