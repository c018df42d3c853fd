"""An evidence item's chain of custody as a court reads it (referrals/documents/custody.py), and the desk's
thumbnails, which are small copies and never the photo's own bytes (referrals/web/thumbnails.py)."""

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from referrals.documents.custody import clock_in, court_chain, entry_text, packets_folded
from referrals.domain.messages import EvidenceItem
from referrals.store.evidence import CUSTODY_FROM_EVENTS, Custody
from referrals.web.thumbnails import NoThumbnail, thumbnail
from tests.support.builders import PHOTO
from tests.support.evidence_files import jpeg, pdf, png

T0 = datetime(2026, 2, 2, 16, 5, tzinfo=UTC)  # 10:05 in Chicago
CHICAGO = clock_in(ZoneInfo("America/Chicago"))
COLLECTED = {
    "collected_by": "P.O. A. Rivera, star 12345",
    "collected_at": "2026-01-31T14:05:00-06:00",
    "collected_where": "W 26th St and S Kedzie Ave, on the sidewalk",
    "source": "cpd",
    "case_event": 7,
}
RECEIVED = {"received_from": "203.0.113.7", "sha256": "ab" * 32, "size": 1024, "content_type": "image/jpeg"}


@dataclass
class Row:
    seq: int
    kind: str
    at: datetime
    data: dict = field(default_factory=dict)
    actor_id: str | None = None
    actor_name: str | None = None


class Chain:
    """A chain built event by event, numbered as the store numbers it."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, kind: str, minutes: float, data: dict | None = None, who: str | None = None) -> "Chain":
        at = T0 + timedelta(minutes=minutes)
        self.rows.append(Row(len(self.rows) + 1, kind, at, data or {}, who and who.lower(), who))
        return self

    def received(self) -> "Chain":
        return self.add(Custody.COLLECTED, 0, COLLECTED, "Demo Officer").add(Custody.ADDED, 0, RECEIVED, "Demo Officer")


def item(**changes) -> EvidenceItem:
    return EvidenceItem.model_validate(PHOTO | changes)


def test_an_upload_writes_its_collection_first_and_its_receipt_second():
    (collected, noted_first), (received, noted_second) = CUSTODY_FROM_EVENTS["evidence_added"]
    assert (collected, received) == (Custody.COLLECTED, Custody.ADDED)
    assert {"collected_by", "collected_at", "collected_where"} <= set(noted_first)
    assert "received_from" in noted_second  # the address stays in the chain's data


def test_the_chain_opens_with_who_collected_it_when_and_where_then_its_receipt_without_the_address():
    told = court_chain(Chain().received().rows, item())
    assert [(e.kind, e.by) for e in told] == [
        (Custody.COLLECTED, "P.O. A. Rivera, star 12345"),
        (Custody.ADDED, "Demo Officer"),
    ]
    assert told[0].at == datetime(2026, 1, 31, 20, 5, tzinfo=UTC)  # when it was collected, not when uploaded
    assert told[0].what == "Collected at W 26th St and S Kedzie Ave, on the sidewalk"
    assert told[1].what == "Received into the evidence system; its SHA-256 computed on receipt"
    assert all("203.0.113.7" not in e.what and "127.0.0.1" not in e.what for e in told)


def test_a_collection_place_not_given_reads_not_recorded_and_an_old_chain_starts_from_the_items_record():
    chain = Chain().add(Custody.COLLECTED, 0, COLLECTED | {"collected_where": None}, "Demo Officer")
    assert court_chain(chain.rows)[0].what == "Collected (place not recorded)"
    # A chain begun before collections were custody events: its item's record says who collected it and when.
    old = Chain().add(Custody.ADDED, 0, RECEIVED, "Demo Officer").rows
    first, second = court_chain(old, item())
    assert (first.kind, first.by, first.what, first.seqs) == (
        Custody.COLLECTED,
        PHOTO["collected_by"],
        "Collected (place not recorded)",
        [],
    )
    assert second.kind == Custody.ADDED


def test_five_openings_by_one_person_within_an_hour_are_one_entry_of_five_and_two_people_two():
    chain = Chain().received()
    for minutes in (1, 5, 12, 30, 59):
        chain.add(Custody.OPENED, minutes, {"bytes": "0-99/100"}, "Test reviewer")
    chain.add(Custody.OPENED, 20, {"bytes": "0-99/100"}, "Test liaison")
    told = court_chain(chain.rows)[2:]
    assert [(e.by, e.times) for e in told] == [("Test reviewer", 5), ("Test liaison", 1)]
    assert told[0].seqs == [3, 4, 5, 6, 7] and told[0].last_at == T0 + timedelta(minutes=59)
    assert entry_text(told[0], CHICAGO) == "Opened or played in the desk, 5 times, the last at 11:04 CST"
    assert entry_text(told[1], CHICAGO) == "Opened or played in the desk"


def test_an_hour_later_or_after_another_kind_of_event_a_new_entry_begins():
    chain = Chain().received()
    chain.add(Custody.DOWNLOADED, 0, who="Test reviewer").add(Custody.DOWNLOADED, 61, who="Test reviewer")
    chain.add(Custody.OPENED, 62, who="Test reviewer")  # another kind: its own entry
    chain.add(Custody.INCLUDED_IN_PACKET, 63, {"document_id": "d-2", "version": 2})
    chain.add(Custody.OPENED, 64, who="Test reviewer")  # after the packet: told after it
    told = court_chain(chain.rows)[2:]
    assert [(e.kind, e.times) for e in told] == [
        (Custody.DOWNLOADED, 1),
        (Custody.DOWNLOADED, 1),
        (Custody.OPENED, 1),
        (Custody.INCLUDED_IN_PACKET, 1),
        (Custody.OPENED, 1),
    ]


def test_packets_deliveries_checks_holds_and_removal_are_worded_for_a_court():
    packet = {"document_id": "d-2", "version": 2, "addressed_to": "Cook County State's Attorney's Office"}
    chain = Chain().received()
    chain.add(Custody.INCLUDED_IN_PACKET, 1, packet)
    chain.add(Custody.DELIVERED, 2, {"document_id": "d-2", "to": "felony.review@ccsao.invalid"})
    chain.add(Custody.DOWNLOADED, 3, {"client": "198.51.100.4", "bytes": "0-1023/1024"}, "Test liaison")
    chain.add(Custody.INTEGRITY_CHECKED, 4, {"sha256": "ab" * 32, "intact": True, "by": "referrals evidence verify"})
    chain.add(Custody.INTEGRITY_CHECKED, 5, {"sha256": "cd" * 32, "intact": False})
    chain.add(Custody.HELD, 6, {"reference": "Order 26-CR-0417", "reason": "criminal case"}, "Test custodian")
    chain.add(Custody.RELEASED, 7, {"reference": "Order 26-CR-0417", "reason": "vacated"}, "Test custodian")
    chain.add(Custody.REMOVED, 8, {"reason": "wrong case", "sha256": "ab" * 32}, "Test admin")
    told = court_chain(chain.rows)[2:]
    assert [(e.what, e.by) for e in told] == [
        ("Included in referral packet, version 2", None),
        ("Delivered to the Cook County State's Attorney's Office with packet version 2", None),
        ("Downloaded", "Test liaison"),
        ("Integrity checked: SHA-256 matched", None),
        ("Integrity checked: SHA-256 DID NOT MATCH the one computed on receipt", None),
        ("Placed on hold under Order 26-CR-0417: criminal case", "Test custodian"),
        ("Hold Order 26-CR-0417 released: vacated", "Test custodian"),
        ("Removed from the case and its file deleted: wrong case", "Test admin"),
    ]
    assert not any("198.51.100.4" in e.what or "ccsao.invalid" in e.what for e in told)


def _versions(chain: Chain, first: int, last: int, minutes: float, delivered: bool = True) -> None:
    for version in range(first, last + 1):
        packet = {
            "document_id": f"d-{version}",
            "version": version,
            "addressed_to": "Cook County State's Attorney's Office",
        }
        chain.add(Custody.INCLUDED_IN_PACKET, minutes + version, packet)
        if delivered:
            chain.add(Custody.DELIVERED, minutes + version, {"document_id": f"d-{version}", "to": "fr@ccsao.invalid"})


def test_a_packet_tells_earlier_versions_included_and_delivered_in_one_line_and_every_other_event_apart():
    chain = Chain().received()
    _versions(chain, 1, 3, 10)
    chain.add(Custody.DOWNLOADED, 20, {}, "Test liaison")
    _versions(chain, 4, 4, 30)
    told = packets_folded(court_chain(chain.rows), CHICAGO)
    assert [(entry_text(e, CHICAGO), e.by) for e in told[2:]] == [
        (
            "Included in referral packet versions 1 to 3, each delivered to the Cook County State's Attorney's "
            "Office; version 3 at Mon 02 Feb 2026, 10:18 CST",
            None,
        ),
        ("Downloaded", "Test liaison"),
        ("Included in referral packet, version 4", None),  # one version: its two lines, as the desk tells them
        ("Delivered to the Cook County State's Attorney's Office with packet version 4", None),
    ]
    assert told[2].at == T0 + timedelta(minutes=11) and told[2].seqs == [3, 4, 5, 6, 7, 8]  # from version 1's


def test_versions_not_each_delivered_are_told_one_by_one():
    chain = Chain().received()
    _versions(chain, 1, 2, 10, delivered=False)
    told = packets_folded(court_chain(chain.rows), CHICAGO)
    assert [e.what for e in told[2:]] == [
        "Included in referral packet, version 1",
        "Included in referral packet, version 2",
    ]
    # A version's e-mail not yet sent when the packet was made: the others still fold, that one keeps its line.
    late = Chain().received()
    _versions(late, 1, 2, 10)
    _versions(late, 3, 3, 10, delivered=False)
    _versions(late, 4, 4, 10)
    told = packets_folded(court_chain(late.rows), CHICAGO)
    assert [e.what for e in told[2:]] == [
        "Included in referral packet versions 1, 2 and 4, each delivered to the Cook County State's Attorney's "
        "Office; version 4 at Mon 02 Feb 2026, 10:19 CST",
        "Included in referral packet, version 3",
    ]
    # Sent after the next version was made: still one of them.
    late.add(Custody.DELIVERED, 15, {"document_id": "d-3", "to": "fr@ccsao.invalid"})
    (folded,) = packets_folded(court_chain(late.rows), CHICAGO)[2:]
    assert folded.what.startswith("Included in referral packet versions 1 to 4, each delivered")


def test_an_item_held_elsewhere_is_received_as_a_reference():
    held = {"held_elsewhere": {"system": "Axon Evidence.com", "reference": "8f2c1e4a"}, "received_from": "10.0.0.9"}
    told = court_chain(Chain().add(Custody.ADDED, 0, held, "Demo Officer").rows)
    assert told[0].what == "Recorded in the evidence system as held in Axon Evidence.com, reference 8f2c1e4a"


def _image(content: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(content))
    picture.load()
    return picture


def test_a_thumbnail_is_a_small_copy_never_the_photos_own_bytes():
    big = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "Axon Body 3"  # the camera's make: metadata a thumbnail leaves behind
    Image.new("RGB", (1600, 1200), (200, 40, 40)).save(big, "JPEG", exif=exif)
    small = thumbnail(big.getvalue(), "image/jpeg")
    assert small != big.getvalue() and len(small) < len(big.getvalue()) // 4
    shrunk = _image(small)
    assert (shrunk.format, shrunk.size) == ("JPEG", (320, 240)) and not shrunk.getexif()
    # A small photo is not enlarged; a PNG stays a PNG.
    assert _image(thumbnail(jpeg(160, 120), "image/jpeg")).size == (160, 120)
    assert _image(thumbnail(png(40, 30), "image/png")).format == "PNG"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(pdf(), "application/pdf"), (png(), "image/jpeg"), (b"\xff\xd8\xff\xe0 not a picture", "image/jpeg")],
)
def test_no_thumbnail_of_what_is_not_a_picture_of_its_type(content, content_type):
    with pytest.raises(NoThumbnail):
        thumbnail(content, content_type)
