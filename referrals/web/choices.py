"""The desk's lists for a fact entered once the same way everywhere: the district from the policy's districts, the
agency from the policy's federal agencies (`[[touhy.agencies]]`), the language by its name
(referrals/domain/languages.py). Each list sends what the API takes (the code); the agency and the language also
offer "another", with a text field beside the list (`<name>_other`), which `merge_other` puts in the list's place
before the form is read."""

from referrals.domain.languages import NAMES, language_name
from referrals.domain.policy import Policy

# What a list sends for "another, typed beside it": no agency code or language tag is spelt so.
OTHER = "_other"
OTHER_SUFFIX = "_other"


def district_options(policy: Policy) -> list[tuple[str, str]]:
    """[(code, "010 (Ogden)")]: empty when the policy lists no districts (then any is typed)."""
    return [(d.code, f"{d.code} ({d.name})") for d in policy.districts]


def agency_options(policy: Policy) -> list[tuple[str, str]]:
    """[(code, "ICE: U.S. Immigration and Customs Enforcement")], in the policy's order (the code first: a narrow
    list still shows it)."""
    return [(a.code, f"{a.code}: {a.name}") for a in policy.touhy.agencies]


def language_options() -> list[tuple[str, str]]:
    """[(tag, name)], by name: ("ase", "American Sign Language"), ("sq", "Albanian"), ..."""
    return sorted(NAMES.items(), key=lambda item: item[1].casefold())


def chosen(value: str | None, options: list[tuple[str, str]]) -> tuple[str, str]:
    """What a list with "another" shows for a value: (the option selected, the text beside it). A value not
    listed (typed as another, or recorded through the API) is "another", typed beside it; a listed code
    written in other letters ("ice") is that option."""
    value = (value or "").strip()
    if not value:
        return "", ""
    for code, _ in options:
        if code == value or code.casefold() == value.casefold():
            return code, ""
    return OTHER, value


def merge_other(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The form's fields with each "another" replaced by the text typed beside its list, and the text fields
    themselves dropped: `agency=_other` and `agency_other=FPS` become `agency=FPS`. A list left on a listed
    value ignores the text beside it; "another" with nothing typed is left blank (the field is then missing)."""
    typed = {name.removesuffix(OTHER_SUFFIX): value for name, value in fields if name.endswith(OTHER_SUFFIX)}
    out = []
    for name, value in fields:
        if name.endswith(OTHER_SUFFIX) and name.removesuffix(OTHER_SUFFIX):
            continue
        if value == OTHER:
            value = typed.get(name, "").strip()
        out.append((name, value))
    return out


def language_label(tag: str | None) -> str:
    """A recorded language as the desk shows it: "Spanish", "Spanish (MX)", or the tag as recorded."""
    return language_name(tag) if tag else ""
