"""`referrals`: the command line for administrators. The parser and the dispatch are here; each subcommand's code is
in the module of its concern: users.py (users add, revoke, unlock), integrity.py (audit verify, evidence verify),
documents.py (documents verify), access_trail.py (access-log verify, prune), cases.py (stuck, rebuild), versions.py
(versions), publication.py (publish), policy.py (policy check); common.py holds what they share."""

import argparse
import asyncio
import importlib
import sys

from pydantic import ValidationError

from referrals import __version__, exiting, logs
from referrals.config import get_settings
from referrals.domain.enums import Role
from referrals.store.database_tls import DatabaseTLSError, check_database
from referrals.temporal_environment import TemporalConnectError, TemporalSettingError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="referrals", description="Incident referral administration")
    parser.add_argument("--version", action="version", version=f"referrals {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    users_cmd = commands.add_parser("users", help="manage users").add_subparsers(dest="action", required=True)
    add = users_cmd.add_parser("add", help="create a user and print its token (shown once)")
    add.add_argument("--name", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--role", dest="roles", action="append", required=True, choices=[r.value for r in Role])
    add.add_argument("--district")
    add.add_argument("--star", help="the officer's star (badge) number: officers see the cases they appear in")
    add.add_argument("--valid-days", type=int, help="the token expires after this many days (default: never)")
    add.add_argument("--json", action="store_true", help='print {"id", "token"} as JSON')
    revoke = users_cmd.add_parser("revoke", help="revoke a user's token at once, and end their desk sessions")
    revoke.add_argument("user", help="the user's e-mail or id")
    unlock = users_cmd.add_parser("unlock", help="unlock an account locked after failed sign-ins")
    unlock.add_argument("user", help="the user's e-mail or id")
    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(dest="action", required=True)
    verify = audit.add_parser("verify", help="check every case's hash chain; exit 1 naming the first broken event")
    verify.add_argument("case", nargs="?", help="a case id or case number (default: every case)")
    verify.add_argument(
        "--published",
        metavar="SOURCE",
        help="also check every chain against the roots the public snapshots published, read from SOURCE: a directory "
        "of the snapshots' JSON files as downloaded, or the public site's address; exit 1 naming each case rewritten "
        "after a root was published",
    )
    evidence_cmd = commands.add_parser("evidence", help="evidence files").add_subparsers(dest="action", required=True)
    check = evidence_cmd.add_parser(
        "verify",
        help="re-read every stored file and recompute its SHA-256; exit 1 naming the first item whose bytes changed",
    )
    check.add_argument("case", nargs="?", help="a case id or case number (default: every case)")
    documents_cmd = commands.add_parser(
        "documents", help="the documents: their signed PDFs, those being made"
    ).add_subparsers(dest="action", required=True)
    signed = documents_cmd.add_parser(
        "verify",
        help="check a PDF's signature: who signed it and when; exit 1 naming why it fails (altered, not signed, "
        "a certificate not trusted)",
    )
    signed.add_argument("file", help="a document's PDF, e.g. CPD-2026-000001-referral-packet-v1.pdf")
    signed.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="CERT",
        help="a certificate (PEM or DER) to trust: the department's signing certificate or one of its chain; "
        "repeatable (default: REFERRALS_SIGNING_CERTIFICATE)",
    )
    signed.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    waiting = documents_cmd.add_parser(
        "waiting",
        help="the documents asked for and not yet made, oldest first; exit 1 if one has failed (it is retried)",
    )
    waiting.add_argument("--json", action="store_true", help="print a JSON array")
    rebuild = commands.add_parser(
        "rebuild", help="write cases back into PostgreSQL from their workflows (after a restore); needs a worker"
    )
    rebuild.add_argument("case", nargs="?", help="a case id or case number (default: every case Temporal holds)")
    rebuild.add_argument("--json", action="store_true", help="print one JSON object per case")
    trail = commands.add_parser(
        "access-log", help="the access trail (every read, search, sign-in, codec use)"
    ).add_subparsers(dest="action", required=True)
    trail.add_parser("verify", help="check the trail's hash chain; exit 1 naming the first broken entry")
    trail.add_parser("prune", help="delete the entries older than the policy's access_log_retention_days")
    policy = commands.add_parser("policy", help="jurisdiction policy files").add_subparsers(
        dest="action", required=True
    )
    policy_check = policy.add_parser(
        "check", help="validate a policy file and print what it sets; exit 1 naming each problem"
    )
    policy_check.add_argument("file", help="a policy file, e.g. policy/minneapolis.toml")
    publish = commands.add_parser(
        "publish",
        help="publish a snapshot of the public figures now (the figures through the end of last month); needs a worker",
    )
    publish.add_argument("--json", action="store_true", help="print the snapshot's listing entry as JSON")
    stuck = commands.add_parser("stuck", help="list overdue tasks: case, task, escalation level, Temporal UI link")
    stuck.add_argument("--json", action="store_true", help="print a JSON array")
    versions_cmd = commands.add_parser(
        "versions",
        help="each workflow patch's step, and the open cases that keep "
        'it from the next (README, "Changing released workflow code")',
    )
    versions_cmd.add_argument("--json", action="store_true", help="print a JSON array, one object per patch")
    return parser


# Each command's code, in its module, imported only when that command runs: `referrals publish` does not load the PDF
# signer, nor any command every other command's code.
_COMMANDS = {
    ("users", "add"): ("users", "add_user"),
    ("rebuild", None): ("cases", "rebuild_cases"),
    ("stuck", None): ("cases", "stuck"),
    ("versions", None): ("versions", "show_versions"),
    ("publish", None): ("publication", "publish"),
    ("documents", "waiting"): ("documents", "waiting_documents"),
    ("audit", "verify"): ("integrity", "verify_audit"),
    ("evidence", "verify"): ("integrity", "verify_evidence"),
    ("access-log", "verify"): ("access_trail", "verify_access_log"),
    ("access-log", "prune"): ("access_trail", "prune_access_log"),
}
_ON_USER = {
    "revoke": ("token_revoke", "revoke_user", "revoked the token of"),
    "unlock": ("account_unlock", "unlock_user", "unlocked"),
}


def _command(module: str, name: str):
    return getattr(importlib.import_module(f"referrals.cli.{module}"), name)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "policy":  # needs no configuration: a file being written, before it is deployed
        return _command("policy", "check_policy")(args)
    if args.command == "documents" and args.action == "verify":  # needs none either: a file and the certificate
        return _command("documents", "verify_pdf")(args)
    try:
        get_settings()
    except ValidationError as exc:
        print(
            f"referrals: configuration: {'; '.join(e['msg'].removeprefix('Value error, ') for e in exc.errors())}",
            file=sys.stderr,
        )
        return 2
    settings = get_settings()
    # Warnings (a deprecated setting, a database without TLS) on stderr: stdout is the command's output (--json).
    logs.configure(
        settings.effective_log_format, "DEBUG" if settings.log_level.upper() == "DEBUG" else "WARNING", sys.stderr
    )

    try:  # every command from here reads the database: DATABASE_URL's TLS must hold
        check_database(settings)
        return _dispatch(args)
    except (TemporalConnectError, TemporalSettingError, DatabaseTLSError) as refused:
        print(f"referrals: {refused}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "users" and args.action in _ON_USER:
        action, handler, done = _ON_USER[args.action]
        return asyncio.run(_command("users", "on_user")(args, action, _command("users", handler), done))
    found = _COMMANDS.get((args.command, getattr(args, "action", None)))
    if found is None:
        return 2
    return asyncio.run(_command(*found)(args))


def run() -> None:
    """The `referrals` command: out without the interpreter's finalization once the command has done its work
    (referrals/exiting.py)."""
    exiting.now(main())
