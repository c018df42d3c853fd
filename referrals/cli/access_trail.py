"""`referrals access-log verify | prune`: the access trail's hash chain checked, and the entries past the policy's
retention deleted."""

import argparse
from datetime import UTC, datetime

from referrals.config import get_settings
from referrals.domain.policy import load_policy
from referrals.store import access_log
from referrals.store.engine import async_engine, session_factory


async def verify_access_log(args: argparse.Namespace) -> int:
    engine = async_engine(get_settings().database_url)
    checked: list = []
    try:
        failure = await access_log.verify(session_factory(engine), checked=checked)
    finally:
        await engine.dispose()
    if failure is not None:
        print(f"BROKEN access trail: entry {failure.seq}: {failure.reason}")
        return 1
    done = checked[0]
    if not done.entries:
        print("the access trail is empty")
    else:
        anchor = "the genesis hash" if done.first_seq == 1 else f"entry {done.first_seq}'s prev_hash {done.anchor}"
        print(
            f"{done.entries} access trail entries ({done.first_seq} to {done.last_seq}) checked from {anchor}: "
            "chain intact"
        )
    return 0


async def prune_access_log(args: argparse.Namespace) -> int:
    settings = get_settings()
    days = load_policy(settings.policy_file).access_log_retention_days
    engine = async_engine(settings.database_url)
    try:
        deleted = await access_log.prune(session_factory(engine), days, datetime.now(UTC))
    finally:
        await engine.dispose()
    print(f"{deleted} access trail entries older than {days} days deleted")
    return 0
