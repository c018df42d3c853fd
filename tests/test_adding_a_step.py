"""A new human step is one declaration: tests/support/throwaway_step.py declares `case_note` and nothing else, and
the API routes it, the permission matrix guards it, the workflow takes it as an update, refuses it by its check and
records its event in the audit trail."""

import asyncio
import json
import sys
import uuid

from referrals.domain import steps
from tests.support.keys import TEST_ACTOR_KEYS, TEST_KEYS


async def test_a_step_declared_once_is_taken_through_the_api(settings):
    config = {
        "env": "test",
        "database_url": settings.database_url,
        "temporal_address": settings.temporal_address,
        "task_queue": f"throwaway-{uuid.uuid4()}",
        "encryption_keys": TEST_KEYS,
        "actor_keys": TEST_ACTOR_KEYS,
        "smtp_url": settings.smtp_url,
    }
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.throwaway_step",
        json.dumps(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(run.communicate(), timeout=120)
    assert run.returncode == 0, err.decode()[-3000:]
    seen = json.loads(out.decode().strip().splitlines()[-1])

    assert seen["operation"] == {"summary": "Add a note to the case", "body": ["note"]}
    assert seen["custodian"]["status"] == 403
    assert seen["custodian"]["body"]["error"]["message"] == "case_note needs the role officer or supervisor"
    assert seen["refused"]["status"] == 422
    assert seen["refused"]["body"]["error"]["details"] == [
        {
            "field": "note",
            "message": "a note says what is known, not what is to be decided",
            "text": "Note: a note says what is known, not what is to be decided",
            "code": "invalid",
        }
    ]
    assert seen["missing"]["status"] == 422 and "note" in json.dumps(seen["missing"]["body"])
    assert seen["taken"]["status"] == 200 and seen["taken"]["body"]["stage"] == "investigation"
    notes = [e for e in seen["events"] if e["kind"] == "case_note_added"]
    assert notes == [
        {"kind": "case_note_added", "data": {"note": "Second witness found at the corner store", "words": 7}}
    ]
    # Declared in that process only: this one has no such step.
    assert steps.step("case_note") is None
