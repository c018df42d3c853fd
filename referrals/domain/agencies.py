"""The federal agencies: one table, policy data (`[[touhy.agencies]]`), which the desk offers wherever an agency is
typed or chosen and which addresses each Touhy request (United States ex rel. Touhy v. Ragen, 340 U.S. 462 (1951)).

Each agency carries the regulation that governs requests for its records and testimony, cited as a lawyer cites it
("6 C.F.R. §§ 5.41–5.49"), the provision that asks the requester to state what is sought and why, the office a
request is addressed to and that office's address, and whether the department has verified the address. An
outgoing letter prints an address only once it is verified; until then the desk and the legal review memo tell
the reviewer. The same goes for the official who signs the letters (`[touhy.signatory]`): a placeholder is never
printed.

A policy file lists its own table (a DOJ request goes to the U.S. Attorney of the department's district); a policy
without one (a case filed before the table, a policy built in code) has Chicago's. Cases filed before the agencies
carried their own office (`touhy.offices`, keyed "dhs" and "doj") are read into this table, the same on every
replay.
"""

import re
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NBSP = "\u00a0"
DHS, DOJ = "DHS", "DOJ"


def cfr(title: int, first: str, last: str | None = None) -> str:
    """A C.F.R. cite as a lawyer writes it: cfr(6, "5.41", "5.49") -> '6 C.F.R. §§ 5.41–5.49' (an en dash between
    the sections, and non-breaking spaces that keep '6 C.F.R.' and '§§ 5.41' each on one line)."""
    sections = f"§§{NBSP}{first}–{last}" if last else f"§{NBSP}{first}"
    return f"{title}{NBSP}C.F.R. {sections}"


DHS_RULE = cfr(6, "5.41", "5.49")  # 6 C.F.R. part 5, subpart C: Disclosure of information in litigation
DOJ_RULE = cfr(28, "16.21", "16.29")  # 28 C.F.R. part 16, subpart B: Production or disclosure in proceedings
# The provision that asks the requester to state, in writing, what is sought and its relevance.
DHS_STATEMENT = cfr(6, "5.45(a)")
DOJ_STATEMENT = cfr(28, "16.22(c)–(d)")

_SECTION = r"\d+(?:\.\d+)*(?:\([A-Za-z0-9]+\))*"
_LOOSE_CFR = re.compile(
    rf"^\s*(\d+)\s*C\.?\s*F\.?\s*R\.?\s*(?:§§?|[Ss]ec(?:tions?|s?\.))?\s*({_SECTION})"
    rf"(?:\s*(?:-|–|—|to|through)\s*({_SECTION}))?\s*$"
)
_LAWYERS_FORM = re.compile(r"^\d+\u00a0C\.F\.R\. (?:§\u00a0|§§\u00a0|pt\. |part )\S")


def lawyers_cite(text: str) -> str:
    """A C.F.R. cite in the lawyer's form: '6 CFR 5.41-5.49' -> '6 C.F.R. §§ 5.41–5.49'; '6 C.F.R. § 5.45(a)'
    gets its non-breaking spaces. What it cannot read (a part, a subpart) keeps its words, spaced the same way."""
    if found := _LOOSE_CFR.match(text):
        title, first, last = found.groups()
        return cfr(int(title), first, last)
    text = re.sub(r"^(\d+)\s+C\.F\.R\.\s+", rf"\1{NBSP}C.F.R. ", text.strip())
    return re.sub(r"(§§?)\s+", rf"\1{NBSP}", text)


def in_lawyers_form(cite: str) -> bool:
    return bool(_LAWYERS_FORM.match(cite))


def the(name: str) -> str:
    """An agency or office as a sentence names it: 'the Federal Bureau of Investigation', 'the Office of Chief
    Counsel', but 'U.S. Immigration and Customs Enforcement' (as the agencies named so style themselves)."""
    return name if name.startswith(("U.S. ", "the ", "The ")) else f"the {name}"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TouhyAgency(_Frozen):
    """One federal agency: how a case names it, and where and under which regulation its Touhy requests go."""

    code: str = Field(min_length=1, max_length=20)  # as a case names the agency: "ICE"
    name: str = Field(min_length=1, max_length=200)  # "U.S. Immigration and Customs Enforcement"
    department: str = Field(default="", max_length=20)  # its executive department: "DHS", "DOJ"
    regulation: str = Field(min_length=1, max_length=200)  # "6 C.F.R. §§ 5.41–5.49"
    # The provision that asks for the statement of what is sought and why (the letter cites it): "6 C.F.R. § 5.45(a)".
    relevance_rule: str = Field(default="", max_length=200)
    office: str = Field(min_length=1, max_length=300)  # whom a request is addressed to: its lines, "\n" between
    address: str = Field(default="", max_length=500)  # the office's address: its lines
    # The address checked against the office's current instructions: until then no letter prints it.
    verified: bool = False
    copies: list[str] = Field(default_factory=list, max_length=10)  # offices its letters are copied to ("cc:")

    @field_validator("regulation", "relevance_rule")
    @classmethod
    def _as_a_lawyer_cites_it(cls, value: str) -> str:
        return lawyers_cite(value) if value else value

    def office_lines(self) -> list[str]:
        return [line.strip() for line in self.office.splitlines() if line.strip()]

    def office_name(self) -> str:
        """The office on one line, as a "cc:" names it."""
        return ", ".join(self.office_lines())

    def office_in_text(self) -> str:
        """The office as a sentence names it (the desk's): 'the Office of the Principal Legal Advisor, ...'."""
        return the(self.office_name())


class TouhySignatory(_Frozen):
    """The official who signs the department's Touhy requests: their letters' signature block."""

    name: str = Field(min_length=1, max_length=120)
    title: str = Field(min_length=1, max_length=200)  # "Deputy General Counsel, Office of Legal Affairs"
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=200)
    # A shipped file names a placeholder until the department names its official. A letter never prints a
    # placeholder (its signature block is left to be completed by hand), and the desk and the memo say so.
    placeholder: bool = False

    @model_validator(mode="after")
    def _reachable_and_real(self) -> "TouhySignatory":
        if not (self.phone or self.email):
            raise ValueError("give the phone or the e-mail address at which an agency reaches the signing official")
        if self.email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.email):
            raise ValueError(f"{self.email!r} is not an e-mail address")
        if not self.placeholder and (placeholder := self.looks_like_a_placeholder()):
            raise ValueError(
                f"{placeholder} is still the development placeholder: name the official who signs the letters, "
                "or keep `placeholder = true`"
            )
        return self

    def looks_like_a_placeholder(self) -> str | None:
        for what, text in (("the name", self.name), ("the title", self.title)):
            if "[" in text or "placeholder" in text.casefold():
                return what
        if re.search(r"@(?:[\w-]+\.)*example\.(?:org|com|net)$", self.email):
            return "the e-mail address"
        if re.search(r"555[-.\s]?01\d\d", self.phone):
            return "the phone number"
        return None


# Federal facts, as the shipped files state them (policy/chicago.toml says where each comes from and which are
# UNVERIFIED): Chicago's table, the default of a policy without one. Every address ships unverified.
_TO_DHS_COUNSEL = ["Office of the General Counsel, U.S. Department of Homeland Security"]
AGENCIES = [
    TouhyAgency(
        code="ICE",
        name="U.S. Immigration and Customs Enforcement",
        department=DHS,
        regulation=DHS_RULE,
        relevance_rule=DHS_STATEMENT,
        office="Office of the Principal Legal Advisor\nU.S. Immigration and Customs Enforcement",
        address="500 12th St. SW, Mail Stop 5900\nWashington, DC 20536-5900",
        copies=_TO_DHS_COUNSEL,
    ),
    TouhyAgency(
        code="CBP",
        name="U.S. Customs and Border Protection",
        department=DHS,
        regulation=DHS_RULE,
        relevance_rule=DHS_STATEMENT,
        office="Office of Chief Counsel\nU.S. Customs and Border Protection",
        address="1300 Pennsylvania Avenue, Suite 4.4-B\nWashington, DC 20229",
        copies=_TO_DHS_COUNSEL,
    ),
    TouhyAgency(
        code="USCIS",
        name="U.S. Citizenship and Immigration Services",
        department=DHS,
        regulation=DHS_RULE,
        relevance_rule=DHS_STATEMENT,
        office="Office of the Chief Counsel\nU.S. Citizenship and Immigration Services",
        address="20 Massachusetts Ave. NW, Room 4210\nWashington, DC 20529",
        copies=_TO_DHS_COUNSEL,
    ),
    *(
        TouhyAgency(
            code=code,
            name=name,
            department=DOJ,
            regulation=DOJ_RULE,
            relevance_rule=DOJ_STATEMENT,
            office="United States Attorney for the Northern District of Illinois",
            address="219 South Dearborn Street, Fifth Floor\nChicago, IL 60604",
            copies=[counsel],
        )
        for code, name, counsel in (
            (
                "FBI",
                "Federal Bureau of Investigation",
                "Office of the General Counsel, Federal Bureau of Investigation",
            ),
            ("DEA", "Drug Enforcement Administration", "Office of Chief Counsel, Drug Enforcement Administration"),
            (
                "ATF",
                "Bureau of Alcohol, Tobacco, Firearms and Explosives",
                "Office of Chief Counsel, Bureau of Alcohol, Tobacco, Firearms and Explosives",
            ),
            ("USMS", "United States Marshals Service", "Office of General Counsel, United States Marshals Service"),
        )
    ),
]
DEVELOPMENT_SIGNATORY = TouhySignatory(
    name="[Name of the official who signs Touhy requests]",
    title="[Title]",
    email="touhy-requests@example.org",
    placeholder=True,
)

# What cases filed before the agencies carried their own office hold: two offices, and agencies naming them.
_OFFICES_BEFORE = {
    "dhs": {
        "name": "Office of the General Counsel, U.S. Department of Homeland Security",
        "address": "2707 Martin Luther King Jr. Ave SE\nWashington, DC 20528-0485",
        "regulations": "6 CFR 5.41-5.49",
    },
    "doj": {
        "name": "U.S. Department of Justice (the component's Office of the General Counsel, with a copy to "
        "the United States Attorney for the district)",
        "address": "950 Pennsylvania Avenue NW\nWashington, DC 20530-0001",
        "regulations": "28 CFR 16.21-16.29",
    },
}
_AGENCIES_BEFORE = [
    {"code": "ICE", "name": "U.S. Immigration and Customs Enforcement", "office": "dhs"},
    {"code": "CBP", "name": "U.S. Customs and Border Protection", "office": "dhs"},
    {"code": "FBI", "name": "Federal Bureau of Investigation", "office": "doj"},
    {"code": "DEA", "name": "Drug Enforcement Administration", "office": "doj"},
    {"code": "USMS", "name": "United States Marshals Service", "office": "doj"},
    {"code": "ATF", "name": "Bureau of Alcohol, Tobacco, Firearms and Explosives", "office": "doj"},
]
_STATEMENT_BEFORE = {"dhs": DHS_STATEMENT, "doj": DOJ_STATEMENT}


def _agencies_from_offices(data: dict[str, Any]) -> dict[str, Any]:
    """A `touhy` table of before (`offices` keyed "dhs"/"doj", agencies naming one) as this table reads it."""
    offices = {**_OFFICES_BEFORE, **(data.get("offices") or {})}
    rows = []
    for agency in data.get("agencies") or _AGENCIES_BEFORE:
        key = agency.get("office") if isinstance(agency, dict) else None
        if not isinstance(key, str) or key not in offices or "regulation" in agency:
            rows.append(agency)  # a row of this table
            continue
        office = offices[key]
        rows.append(
            {
                "code": agency["code"],
                "name": agency["name"],
                "department": key.upper(),
                "regulation": office.get("regulations") or office.get("regulation") or "",
                "relevance_rule": _STATEMENT_BEFORE.get(key, ""),
                "office": office["name"],
                "address": office.get("address", ""),
                "verified": office.get("verified", False),
            }
        )
    return {**{k: v for k, v in data.items() if k != "offices"}, "agencies": rows}


class Touhy(_Frozen):
    """Requests to federal agencies for the evidence they hold: when each answer is due, the agencies, who signs
    the letters and whom they are copied to."""

    response_due: timedelta = Field(default=timedelta(days=45), gt=timedelta(0))  # each request's own due time
    agencies: list[TouhyAgency] = Field(default_factory=lambda: list(AGENCIES), min_length=1, max_length=100)
    signatory: TouhySignatory = DEVELOPMENT_SIGNATORY
    copies: list[str] = Field(default_factory=list, max_length=10)  # every letter's copies ("cc:"), after the agency's

    @model_validator(mode="before")
    @classmethod
    def _offices_before_agencies(cls, data: Any) -> Any:
        return _agencies_from_offices(data) if isinstance(data, dict) and "offices" in data else data

    @field_validator("agencies")
    @classmethod
    def _each_code_once(cls, value: list[TouhyAgency]) -> list[TouhyAgency]:
        codes = [a.code.casefold() for a in value]
        firsts = {code: a.code for code, a in reversed(list(zip(codes, value)))}  # each as first written
        if twice := sorted({firsts[code] for code in codes if codes.count(code) > 1}):
            raise ValueError(f"{', '.join(twice)} listed more than once")
        return value

    def agency(self, code: str) -> TouhyAgency | None:
        return next((a for a in self.agencies if a.code.casefold() == code.casefold()), None)

    def unverified(self) -> list[TouhyAgency]:
        """The agencies whose letters go without the office's address, until the department verifies it."""
        return [a for a in self.agencies if not a.verified]

    def file_problems(self) -> list[str]:
        """What a policy file must get right that a case's copy may hold from before: each regulation cited as a
        lawyer cites it."""
        return [
            f"touhy.agencies.{n}.{field}: write '{cite.replace(NBSP, ' ')}' as a lawyer cites it, "
            "e.g. '6 C.F.R. §§ 5.41–5.49'"
            for n, a in enumerate(self.agencies)
            for field, cite in (("regulation", a.regulation), ("relevance_rule", a.relevance_rule))
            if cite and not in_lawyers_form(cite)
        ]
