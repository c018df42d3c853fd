"""What the desk's legal-review and charging-decision forms send, made into the API's body: the fields a
person cannot type (an element's number, a subject named by the row it is in), the lists typed one a line, and
a refusal's field paths named back as the form names them."""

import re

from referrals.api.errors import ApiError

_CHARGE_FIELD = re.compile(r"^(?P<charge>subjects\[\d+\]\.charges\[\d+\])\.(?P<rest>.+)$")
_ELEMENT_FACTS = re.compile(r"^(?P<element>subjects\[\d+\]\.charges\[\d+\]\.elements\[(?P<k>\d+)\])\.facts$")
_DISPUTED = re.compile(r"^(?P<subject>subjects\[\d+\])\.disputed_facts$")
_DISPUTED_LINE = re.compile(r"^(?P<field>subjects\[\d+\]\.disputed_facts)\[\d+\]")
_CHARGED_SUBJECT = re.compile(r"^(?P<row>charges\[\d+\])\.subject$")
_FEDERAL_ROW = re.compile(r"^(?P<row>federal_evidence\[\d+\])\.")
_INDEX = re.compile(r"\[(\d+)\]")
_HELD = re.compile(r"^(?P<held>subjects\[\d+\]\.held)\.")
# An element's exhibits, ticked by key and sent as the API's `exhibits` (referrals/web/prefill.py, cite_exhibits).
_ELEMENT_EXHIBIT = re.compile(r"^(?P<element>subjects\[\d+\]\.charges\[\d+\]\.elements\[(?P<k>\d+)\])\.exhibits\[")
_EXHIBIT_ITEM = re.compile(r"^(?P<field>subjects\[\d+\]\.charges\[\d+\]\.elements\[\d+\]\.exhibits)\[\d+\]")


def legal_review(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A charge is sent only when ticked (facts typed under one not ticked are refused, not dropped); each
    element given facts gets its number (the row it is in, from 1); disputed facts, one a line, a list."""
    ticked = {
        m["charge"]
        for name, value in fields
        if (m := _CHARGE_FIELD.match(name)) and m["rest"] == "statute" and value.strip()
    }
    stray = sorted(
        {
            m["charge"]
            for name, value in fields
            if (m := _CHARGE_FIELD.match(name)) and m["charge"] not in ticked and value.strip()
        }
    )
    if stray:
        message = "facts are typed for this charge but it is not ticked: tick it to charge the subject, or clear them"
        raise ApiError(
            422,
            "; ".join(f"{charge}.statute: {message}" for charge in stray),
            [{"field": f"{charge}.statute", "message": message} for charge in stray],
        )
    asked = {m["row"] for name, value in fields if (m := _FEDERAL_ROW.match(name)) and value.strip()}
    held = {m["held"] for name, value in fields if (m := _HELD.match(name)) and value.strip()}
    out = []
    for name, value in fields:
        if (m := _HELD.match(name)) and m["held"] not in held:  # a subject not held: its "if held" fields blank
            continue
        if (m := _CHARGE_FIELD.match(name)) and m["charge"] not in ticked:
            continue
        if (m := _FEDERAL_ROW.match(name)) and m["row"] not in asked:  # an agency's rows left blank
            continue
        if (m := _ELEMENT_FACTS.match(name)) and value.strip():
            out += [(name, value), (f"{m['element']}.element", str(int(m["k"]) + 1))]
        elif (m := _ELEMENT_EXHIBIT.match(name)) and not any(
            n == f"{m['element']}.facts" and v.strip() for n, v in fields
        ):  # exhibits cited, facts not given: numbered, so that the refusal names the facts alone
            if (f"{m['element']}.element", str(int(m["k"]) + 1)) not in out:
                out.append((f"{m['element']}.element", str(int(m["k"]) + 1)))
            out.append((name, value))
        elif m := _DISPUTED.match(name):
            lines = [line.strip() for line in value.splitlines() if line.strip()]
            out += [(f"{m['subject']}.disputed_facts[{n}]", line) for n, line in enumerate(lines)]
        else:
            out.append((name, value))
    return out


def charging_decision(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A referred subject is sent only with the charges ticked against them."""
    ticked = {name.removesuffix(".statutes") for name, _ in fields if name.endswith(".statutes")}
    return [
        (name, value) for name, value in fields if not ((m := _CHARGED_SUBJECT.match(name)) and m["row"] not in ticked)
    ]


def in_form(path: str, fields: list[tuple[str, str]]) -> str:
    """A field path as the API names it (its lists numbered from 0 once blank rows are left out) as the form
    names it: `subjects[0].charges[0].elements[0].facts` for the second element's box when the first was blank."""
    present: dict[str, list[int]] = {}
    for name, value in fields:
        if value.strip():
            for m in _INDEX.finditer(name):
                present.setdefault(name[: m.start()], []).append(int(m[1]))
    out, pos = "", 0
    for m in _INDEX.finditer(path):
        out += path[pos : m.start()]
        indices = sorted(set(present.get(out, [])))
        sent = int(m[1])
        out += f"[{indices[sent] if sent < len(indices) else sent}]"
        pos = m.end()
    out += path[pos:]
    if line := _DISPUTED_LINE.match(out):  # typed as one box, one a line
        return line["field"]
    if cited := _EXHIBIT_ITEM.match(out):  # ticked as a group of boxes
        return cited["field"]
    return out


def details_in_form(details, fields: list[tuple[str, str]]):
    if not isinstance(details, list):
        return details
    return [
        {**d, "field": in_form(d["field"], fields)} if isinstance(d, dict) and d.get("field") else d for d in details
    ]
