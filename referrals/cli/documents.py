"""`referrals documents verify FILE.pdf`: whether a document's PDF is as the department signed it, who signed it and
when, or why not. It needs no database: the certificate to trust comes from --trust, else from the settings'
REFERRALS_SIGNING_CERTIFICATE. `referrals documents waiting`: the documents the cases asked for that the document
maker has not made yet, and why, if it failed."""

import argparse
import json
import logging
import sys
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from referrals.config import get_settings
from referrals.documents.signing import SigningKeyError, Verdict, load_certificates, verify
from referrals.domain.words import label
from referrals.store import outbox
from referrals.store.engine import async_engine, session_factory


async def waiting_documents(args: argparse.Namespace) -> int:
    """Exit 1 when a document has failed to be made (it is retried: the line says when next and why it failed)."""
    engine = async_engine(get_settings().database_url)
    try:
        async with session_factory(engine)() as session:
            found = await outbox.waiting(session)
    finally:
        await engine.dispose()
    now = datetime.now(UTC)
    if args.json:
        print(json.dumps(found, indent=2, default=str))
    else:
        for row in found:
            since = str(now - row["requested_at"]).split(".")[0]
            line = f"{row['case_number']}: {label(row['kind'])}, version {row['version']}, asked for {since} ago"
            if row["attempts"]:
                line += (
                    f"; failed {row['attempts']} time(s), next attempt at {row['not_before'].isoformat()}: "
                    f"{row['last_error']}"
                )
            print(line)
        print(f"{len(found)} document(s) waiting, {sum(bool(r['attempts']) for r in found)} failing")
    return 1 if any(r["attempts"] for r in found) else 0


def verify_pdf(args: argparse.Namespace) -> int:
    for name in ("pyhanko", "pyhanko_certvalidator"):  # their warnings repeat, as tracebacks, what the verdict says
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        trusted = [certificate for path in args.trust for certificate in load_certificates(Path(path))]
        if not args.trust and (configured := _configured_certificate()) is not None:
            trusted = load_certificates(configured)
        pdf = Path(args.file).read_bytes()
    except (OSError, SigningKeyError) as exc:
        print(f"referrals: {exc}", file=sys.stderr)
        return 2
    verdict = verify(pdf, trusted)
    if verdict.problem == "the signer's certificate is not one this check trusts" and not trusted:
        verdict = replace(
            verdict,
            problem=f"{verdict.problem}: no certificate was given to trust (--trust FILE, or REFERRALS_SIGNING_CERTIFICATE)",
        )
    if args.json:
        print(json.dumps({"file": args.file, **{k: _plain(v) for k, v in asdict(verdict).items()}}))
    else:
        print(_sentence(args.file, verdict))
    return 0 if verdict.ok else 1


def _configured_certificate() -> Path | None:
    try:
        return get_settings().signing_certificate
    except ValidationError:  # no usable settings here (no database named): nothing configured to trust
        return None


def _sentence(name: str, verdict: Verdict) -> str:
    signed = (
        f"signed by {verdict.signed_by}"
        + (f" on {verdict.signed_at:%Y-%m-%d at %H:%M:%S} UTC" if verdict.signed_at else "")
        + (f" ({verdict.reason})" if verdict.reason else "")
        if verdict.signed_by
        else ""
    )
    if verdict.ok:
        return f"OK  {name}: {signed}; unchanged since it was signed"
    return f"BAD {name}: {verdict.problem}" + (f"; it says it was {signed}" if signed else "")


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
