"""What the desk's legal-review and charging-decision forms send, made into the API's body: the fields a
person cannot type (an element's number, a subject named by the row it is in) and the lists typed one a line."""

import re

_ELEMENT_FACTS = re.compile(r"^(?P<element>subjects\[\d+\]\.charges\[\d+\]\.elements\[(?P<k>\d+)\])\.facts$")
_DISPUTED = re.compile(r"^(?P<subject>subjects\[\d+\])\.disputed_facts$")
_CHARGED_SUBJECT = re.compile(r"^(?P<row>charges\[\d+\])\.subject$")


def legal_review(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each element given facts gets its number (the row it is in, from 1); disputed facts, one a line, a list."""
    out = []
    for name, value in fields:
        if (m := _ELEMENT_FACTS.match(name)) and value.strip():
            out += [(name, value), (f"{m['element']}.element", str(int(m["k"]) + 1))]
        elif m := _DISPUTED.match(name):
            lines = [line.strip() for line in value.splitlines() if line.strip()]
            out += [(f"{m['subject']}.disputed_facts[{n}]", line) for n, line in enumerate(lines)]
        else:
            out.append((name, value))
    return out


def charging_decision(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A referred subject is sent only with the charges ticked against them."""
    ticked = {name.removesuffix(".statutes") for name, _ in fields if name.endswith(".statutes")}
    return [(name, value) for name, value in fields
            if not ((m := _CHARGED_SUBJECT.match(name)) and m["row"] not in ticked)]
