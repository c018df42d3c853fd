"""The privacy rule: no field asks for a person's immigration status or citizenship (Illinois TRUST Act, Chicago
Welcoming City Ordinance). `RequestModel` (base.py) applies it to every body, at any depth.
"""

import re

# Field names asking about immigration status, citizenship, nationality, country or place of birth
# or an alien registration number, in any spelling: matched on the name lowercased with everything
# but letters and digits removed ("Country-of-Birth", "placeOfBirth", "a_number" alike).
FORBIDDEN_FIELD = re.compile(
    r"immigra|citizen|nationalit|visa|alien|deport|legalstatus|countryofbirth|birthcountry|placeofbirth"
    r"|birthplace|countryoforigin|^anumber$|^ano$|^anum$|uscis"
)
PRIVACY_RULE = (
    "the product never collects the immigration status, citizenship, nationality, country or place of "
    "birth or alien number of any person (Illinois TRUST Act, 5 ILCS 805; Chicago Welcoming City "
    "Ordinance, MCC 2-173)"
)


def asks_status(field_name: str) -> bool:
    """Whether a field's name asks for what PRIVACY_RULE forbids, however it is spelt."""
    return bool(FORBIDDEN_FIELD.search(re.sub(r"[^a-z0-9]", "", field_name.lower())))
