"""`referrals users add | revoke | unlock`: the desk's and the API's users, each change in the access trail."""

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.cli.common import cli_entry
from referrals.config import get_settings
from referrals.domain.messages import NewUser
from referrals.store import access_log, auth_limits, users, web_sessions
from referrals.store.engine import async_engine, session_factory
from referrals.store.tables import AppUser


async def add_user(args: argparse.Namespace) -> int:
    try:
        new = NewUser(
            name=args.name,
            email=args.email,
            roles=args.roles,
            district=args.district,
            star=args.star,
            token_valid_days=args.valid_days,
        )
    except ValidationError as exc:
        for err in exc.errors():
            print(f"referrals: --{'.'.join(map(str, err['loc']))}: {err['msg']}", file=sys.stderr)
        return 2
    engine = async_engine(get_settings().database_url)
    try:
        async with session_factory(engine)() as session:
            user, token = await users.create_user(session, new)
        await access_log.append(session_factory(engine), cli_entry("user_create", user.id, roles=user.roles))
    except users.EmailTaken:
        print(f"referrals: a user with e-mail {args.email} exists already", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    if args.json:
        print(json.dumps({"id": user.id, "token": token}))
    else:
        print(f"created {user.name} ({', '.join(user.roles)}), id {user.id}\ntoken (shown once): {token}")
    return 0


async def on_user(
    args: argparse.Namespace,
    action: str,
    change: Callable[[AsyncSession, AppUser], Awaitable[dict[str, Any]]],
    done: str,
) -> int:
    """An administration action on one user, by e-mail or id, recorded in the access trail."""
    engine = async_engine(get_settings().database_url)
    try:
        async with session_factory(engine)() as session:
            user = await users.find_by_email_or_id(session, args.user)
            details = await change(session, user) if user is not None else None
        if user is not None:
            assert details is not None  # the change made them for the user
            await access_log.append(session_factory(engine), cli_entry(action, user.id, **details))
    finally:
        await engine.dispose()
    if user is None:
        print(f"referrals: no user {args.user}", file=sys.stderr)
        return 1
    print(f"{done} {user.name} ({user.email})")
    return 0


async def revoke_user(session: AsyncSession, user: AppUser) -> dict[str, Any]:
    await users.revoke(session, user.id)
    return {"sessions_ended": await web_sessions.close_all(session, user.id)}


async def unlock_user(session: AsyncSession, user: AppUser) -> dict[str, Any]:
    await auth_limits.unlock(session, user)
    return {}
