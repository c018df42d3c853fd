"""`referrals audit verify --published SOURCE`: today's chains against the roots the public snapshots published
(referrals/domain/chain_roots.py). The roots are read from where the public keeps them, never from this database:
a directory of the snapshots' JSON files as they were downloaded, or the public site, whose copies (every cache, every
archive, every reader's) the database's owner cannot rewrite."""

import json
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from referrals.domain.chain_roots import Chain, root
from referrals.store import chain_heads


@dataclass(frozen=True)
class Published:
    snapshot_id: int
    published_on: str
    chains_root: str | None
    where: str  # the file or address it was read from


class SourceError(Exception):
    """The published snapshots cannot be read from the source given."""


def _published(doc: object, where: str) -> Published:
    if not isinstance(doc, dict) or not isinstance(doc.get("snapshot_id"), int):
        raise SourceError(f"{where}: not a public snapshot (no snapshot_id)")
    found = doc.get("chains_root")
    return Published(
        doc["snapshot_id"], str(doc.get("published_on", "")), found if isinstance(found, str) else None, where
    )


def read_source(source: str) -> list[Published]:
    """Every snapshot at `source`: a directory of their JSON files, or the public site's address (http(s)://…)."""
    if source.startswith(("http://", "https://")):
        base = source.rstrip("/").removesuffix("/public")
        try:
            with httpx.Client(base_url=base, timeout=30, follow_redirects=True) as http:
                listing = http.get("/public/snapshots")
                listing.raise_for_status()
                found = []
                for entry in listing.json()["snapshots"]:
                    answer = http.get(entry["json"])
                    answer.raise_for_status()
                    found.append(_published(answer.json(), f"{base}{entry['json']}"))
                return found
        except httpx.HTTPStatusError as exc:
            raise SourceError(f"{exc.request.url} answered {exc.response.status_code}: not the public site") from None
        except httpx.HTTPError as exc:
            raise SourceError(f"{base}/public/snapshots: cannot be read ({type(exc).__name__}: {exc})") from None
        except (ValueError, KeyError, TypeError):
            raise SourceError(f"{base}/public/snapshots: not the public snapshots' listing") from None
    directory = Path(source)
    if not directory.is_dir():
        raise SourceError(f"{source}: neither a directory of snapshots' JSON files nor an http(s) address")
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            found.append(_published(json.loads(path.read_bytes()), str(path)))
        except ValueError as exc:
            raise SourceError(f"{path}: not JSON ({exc})") from None
    return found


async def problems(
    conn: AsyncConnection, published: list[Published], case_id: str | None = None
) -> tuple[int, list[str]]:
    """How many roots were checked, and a line for each chain rewritten after a root was published (the oldest
    root first, its chains in order), or for each root the heads kept here no longer give. With `case_id`, only
    that case's chains are named (every head still makes the root)."""
    custody_of = (
        set(
            (
                await conn.execute(
                    text("SELECT DISTINCT evidence_id FROM evidence_custody WHERE case_id = :c"), {"c": case_id}
                )
            ).scalars()
        )
        if case_id
        else set()
    )
    checked, lines = 0, []
    seen: set[tuple[str, str]] = set()
    for snapshot in sorted({p.snapshot_id: p for p in published}.values(), key=lambda p: p.snapshot_id):
        if snapshot.chains_root is None:
            continue  # published before the roots were
        checked += 1
        pairs = await chain_heads.kept_and_today(conn, snapshot.snapshot_id)
        if root(head for head, _ in pairs) != snapshot.chains_root:
            lines.append(
                f"ALTERED snapshot {snapshot.snapshot_id}'s root (published {snapshot.published_on}): the chain heads "
                f"kept here with it do not give the root the public holds ({snapshot.where}): they were changed or "
                "deleted, or this is not the database that published it"
            )
            continue
        for head, today in pairs:
            if today == head.hash or (head.chain, head.id) in seen:
                continue
            if case_id and not (head.chain == Chain.CASE and head.id == case_id or head.id in custody_of):
                continue
            if head.chain == Chain.ACCESS and today is None:
                continue  # entries pruned after their retention (`access-log prune`): nothing left to rewrite
            seen.add((head.chain, head.id))
            said = f"snapshot {snapshot.snapshot_id}'s root was published ({snapshot.published_on})"
            lines.append(await _rewritten(conn, head.chain, head.id, head.seq, today, said))
    return checked, lines


async def _rewritten(conn: AsyncConnection, chain: Chain, chain_id: str, seq: int, today: str | None, said: str) -> str:
    now = "is gone since" if today is None else "is not as it was when"
    if chain == Chain.ACCESS:
        return f"REWRITTEN the access trail: entry {seq} {now} {said}: the trail was rewritten after"
    case_id = chain_id
    if chain == Chain.CUSTODY:
        case_id = (
            await conn.execute(
                text("SELECT case_id FROM evidence_custody WHERE evidence_id = :id LIMIT 1"), {"id": chain_id}
            )
        ).scalar_one_or_none() or "?"
    number = (
        await conn.execute(text("SELECT case_number FROM incident WHERE id = :id"), {"id": case_id})
    ).scalar_one_or_none() or "a case no longer here"
    what = f"event {seq}" if chain == Chain.CASE else f"evidence {chain_id} custody event {seq}"
    return f"REWRITTEN {number} ({case_id}): {what} {now} {said}: its history was rewritten after"
