"""An evidence item's chain of custody as a court reads it: its collection (who, when, where), its receipt into the
system (by whom: the address it came from stays in the chain's data, never in these words), then each packet that
includes it, its delivery to the prosecutor, each opening and download, each integrity check, any hold, release or
removal. A person's openings (or downloads) within an hour are told once, with how many times.

The chain itself (referrals/store/evidence.py) keeps every event, hash-chained; this only reads it, so what it
says of a moment (a packet's "up to now") is the same whenever it is asked."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Protocol

from referrals.domain.messages import EvidenceItem
from referrals.domain.words import label
from referrals.store.evidence import Custody

SYSTEM = "The evidence system"  # who did what no person did: a packet made, a delivery, a check by the command line
ACCESS_WORDS = {
    Custody.OPENED: "Opened or played in the desk",
    Custody.DOWNLOADED: "Downloaded",
    Custody.VIEWED: "Shown in the desk",  # recorded before openings were told apart from thumbnails
}


class Row(Protocol):
    """A custody event as stored (CustodyEventRow), or anything with its fields."""

    seq: int
    kind: str
    actor_id: str | None
    actor_name: str | None
    at: datetime
    data: dict[str, Any]


@dataclass
class Entry:
    """One line of the chain a court reads."""

    kind: str
    at: datetime  # when it happened: for the collection, when it was collected
    by: str | None  # who: None for the system
    what: str  # what happened, in words, without who or when
    times: int = 1  # a person's openings or downloads within the hour, told as one
    last_at: datetime | None = None  # the last of them, when more than one
    seqs: list[int] = field(default_factory=list)  # the chain's events it tells; none for a collection not recorded
    actor_id: str | None = None
    version: int | None = None  # a packet's inclusion or delivery: the packet's version
    to: str | None = None  # a delivery: to whom, in words ("the Cook County State's Attorney's Office")


def _the(name: str) -> str:
    return name if name.lower().startswith("the ") else f"the {name}"


def _moment(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return fallback


def collection_of(item: EvidenceItem) -> Entry:
    """The collection as the item's record has it: for a chain begun before collections were custody events."""
    return Entry(Custody.COLLECTED, item.collected_at, item.collected_by, _collected_where(item.collected_where))


def _collected_where(place: str | None) -> str:
    return f"Collected at {place}" if place else "Collected (place not recorded)"


def _received(data: dict[str, Any]) -> str:
    held = data.get("held_elsewhere")
    if held:
        return (
            f"Recorded in the evidence system as held in {held.get('system', 'another system')}, "
            f"reference {held.get('reference', 'not given')}"
        )
    return "Received into the evidence system; its SHA-256 computed on receipt"


def _integrity(data: dict[str, Any]) -> str:
    if data.get("intact"):
        return "Integrity checked: SHA-256 matched"
    return "Integrity checked: SHA-256 DID NOT MATCH the one computed on receipt"


def _delivered_to(data: dict[str, Any], packets: dict[str, dict[str, Any]]) -> str:
    packet = packets.get(str(data.get("document_id")), {})
    return _the(packet["addressed_to"]) if packet.get("addressed_to") else f"the prosecutor ({data.get('to', '')})"


def _delivered(data: dict[str, Any], packets: dict[str, dict[str, Any]]) -> str:
    packet = packets.get(str(data.get("document_id")), {})
    version = f" with packet version {packet['version']}" if packet.get("version") else " with the referral packet"
    return f"Delivered to {_delivered_to(data, packets)}{version}"


def _removed(data: dict[str, Any]) -> str:
    gone = "Removed from the case and its file deleted" if data.get("sha256") else "Removed from the case"
    return f"{gone}: {data.get('reason', '')}"


def event_words(row: Row, packets: dict[str, dict[str, Any]] | None = None) -> str:
    """What one event of the chain says happened (who and when aside). `packets`: each packet's inclusion data by
    its document id, so that a delivery names its version."""
    data = row.data
    match row.kind:
        case Custody.COLLECTED:
            return _collected_where(data.get("collected_where"))
        case Custody.ADDED:
            return _received(data)
        case Custody.INCLUDED_IN_PACKET:
            return f"Included in referral packet, version {data.get('version')}"
        case Custody.DELIVERED:
            return _delivered(data, packets or {})
        case Custody.INTEGRITY_CHECKED:
            return _integrity(data)
        case Custody.HELD:
            return f"Placed on hold under {data.get('reference', '')}: {data.get('reason', '')}"
        case Custody.RELEASED:
            return f"Hold {data.get('reference', '')} released: {data.get('reason', '')}"
        case Custody.REMOVED:
            return _removed(data)
    return ACCESS_WORDS.get(row.kind) or label(row.kind)


def _told(row: Row, packets: dict[str, dict[str, Any]]) -> Entry:
    if row.kind == Custody.COLLECTED:
        collected_by = row.data.get("collected_by") or "a person not recorded"
        at = _moment(row.data.get("collected_at"), row.at)
        return Entry(row.kind, at, collected_by, event_words(row), seqs=[row.seq], actor_id=row.actor_id)
    told = Entry(row.kind, row.at, row.actor_name, event_words(row, packets), seqs=[row.seq], actor_id=row.actor_id)
    if row.kind == Custody.INCLUDED_IN_PACKET:
        told.version = row.data.get("version")
    elif row.kind == Custody.DELIVERED:
        told.version = packets.get(str(row.data.get("document_id")), {}).get("version")
        told.to = _delivered_to(row.data, packets)
    return told


def packets_folded(entries: list[Entry], when: Callable[..., str]) -> list[Entry]:
    """The chain with the packet versions that included the item and were delivered to the same addressee, two or
    more with no other kind of event between, told in one line where the first of them was: "Included in referral
    packet versions 1 to 4, each delivered to the Cook County State's Attorney's Office; version 4 at 16:37 CST". A
    version among them not (yet) delivered keeps its own line, after it. A big case's packet lists hundreds of items,
    each of which every version includes and delivers: without this, four fifths of its chains of custody would be
    those two lines again and again. The desk and the API tell every event."""
    folded: list[Entry] = []
    run: list[Entry] = []

    def close() -> None:
        included = {e.version: e for e in run if e.kind == Custody.INCLUDED_IN_PACKET and e.version is not None}
        delivered = {e.version: e for e in run if e.kind == Custody.DELIVERED and e.version is not None}
        versions = sorted(included.keys() & delivered.keys())
        to = {delivered[v].to for v in versions}
        if len(versions) < 2 or len(to) != 1:
            folded.extend(run)
        else:
            told = [e for e in run if e.version in versions]
            what = (
                f"Included in referral packet versions {_versions(versions)}, each delivered to {to.pop()}; "
                f"version {versions[-1]} at {when(delivered[versions[-1]].at)}"
            )
            seqs = [seq for entry in told for seq in entry.seqs]
            folded.append(Entry(Custody.INCLUDED_IN_PACKET, told[0].at, None, what, seqs=seqs))
            folded.extend(e for e in run if e.version not in versions)
        run.clear()

    for entry in entries:
        if entry.kind in (Custody.INCLUDED_IN_PACKET, Custody.DELIVERED):
            run.append(entry)
            continue
        close()
        folded.append(entry)
    close()
    return folded


def _versions(versions: list[int]) -> str:
    """The versions in words: "1 to 4" for three or more without a gap, else "1 and 2", "1, 2 and 4"."""
    if len(versions) > 2 and versions == list(range(versions[0], versions[0] + len(versions))):
        return f"{versions[0]} to {versions[-1]}"
    return ", ".join(map(str, versions[:-1])) + f" and {versions[-1]}"


def court_chain(rows: Iterable[Row], item: EvidenceItem | None = None) -> list[Entry]:
    """The chain's events (in order) as a court reads them. Openings or downloads by one person within an hour of
    the first of them, with no other kind of event between, are one entry with their count. A chain with no
    collection event (begun before there were any) starts with the collection as `item` records it."""
    rows = list(rows)
    packets = {str(r.data.get("document_id")): r.data for r in rows if r.kind == Custody.INCLUDED_IN_PACKET}
    told: list[Entry] = []
    if item is not None and not any(r.kind == Custody.COLLECTED for r in rows):
        told.append(collection_of(item))
    runs: dict[tuple[str | None, str], Entry] = {}  # each person's run of openings (or downloads) going on
    for row in rows:
        if row.kind not in Custody.ACCESS:
            runs.clear()  # a packet, a hold, a check: what comes after it is told after it
            told.append(_told(row, packets))
            continue
        key = (row.actor_id or row.actor_name, row.kind)
        run = runs.get(key)
        if run is not None and row.at - run.at < Custody.WINDOW:
            run.times += 1
            run.last_at = row.at
            run.seqs.append(row.seq)
            continue
        runs[key] = _told(row, packets)
        told.append(runs[key])
    return told


def entry_text(entry: Entry, when: Callable[..., str]) -> str:
    """The entry's words with its count: "Downloaded, 3 times, the last at 10:40 CST". `when` formats a time
    (a document's Clock, the desk's `local`), taking a strftime format as its second argument."""
    if entry.times < 2 or entry.last_at is None:
        return entry.what
    same_day = when(entry.at, "%Y-%m-%d") == when(entry.last_at, "%Y-%m-%d")
    last = when(entry.last_at, "%H:%M %Z") if same_day else when(entry.last_at)
    times = "twice" if entry.times == 2 else f"{entry.times} times"
    return f"{entry.what}, {times}, the last at {last}"


def clock_in(zone: tzinfo) -> Callable[..., str]:
    """`entry_text`'s `when` for a page or an answer: times in the department's zone, as documents print them."""

    def when(moment: datetime, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
        return moment.astimezone(zone).strftime(fmt)

    return when
