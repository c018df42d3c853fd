"""`referrals`: the command line for administrators."""

import argparse
import asyncio
import json
import sys

from pydantic import ValidationError

from config import get_settings
from domain.enums import Role
from domain.messages import NewUser
from store import users
from store.engine import async_engine, session_factory


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="referrals", description="Incident referral administration")
    commands = parser.add_subparsers(dest="command", required=True)
    users_cmd = commands.add_parser("users", help="manage users").add_subparsers(dest="action", required=True)
    add = users_cmd.add_parser("add", help="create a user and print its token (shown once)")
    add.add_argument("--name", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--role", dest="roles", action="append", required=True, choices=[r.value for r in Role])
    add.add_argument("--district")
    add.add_argument("--star", help="the officer's star (badge) number: officers see the cases they appear in")
    add.add_argument("--json", action="store_true", help='print {"id", "token"} as JSON')
    return parser


async def _add_user(args: argparse.Namespace) -> int:
    try:
        new = NewUser(name=args.name, email=args.email, roles=args.roles, district=args.district, star=args.star)
    except ValidationError as exc:
        for err in exc.errors():
            print(f"referrals: --{'.'.join(map(str, err['loc']))}: {err['msg']}", file=sys.stderr)
        return 2
    engine = async_engine(get_settings().database_url)
    try:
        async with session_factory(engine)() as session:
            user, token = await users.create_user(session, new)
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "users" and args.action == "add":
        return asyncio.run(_add_user(args))
    return 2


if __name__ == "__main__":
    sys.exit(main())
