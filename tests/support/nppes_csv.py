"""Rows of the NPPES data dissemination file (``npidata_pfile_*.csv``) in its real column layout.

The header is the real one, in the real order (330 columns, as the NPPES readme lists them):
identity and addresses, 15 taxonomy/licence slots, 50 other identifiers, then the
authorised-official extras, 15 taxonomy groups and the certification date.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

MAILING = "Provider Business Mailing Address"
LOCATION = "Provider Business Practice Location Address"
_IDENTITY = [
    "NPI", "Entity Type Code", "Replacement NPI", "Employer Identification Number (EIN)",
    "Provider Organization Name (Legal Business Name)", "Provider Last Name (Legal Name)", "Provider First Name",
    "Provider Middle Name", "Provider Name Prefix Text", "Provider Name Suffix Text", "Provider Credential Text",
    "Provider Other Organization Name", "Provider Other Organization Name Type Code", "Provider Other Last Name",
    "Provider Other First Name", "Provider Other Middle Name", "Provider Other Name Prefix Text",
    "Provider Other Name Suffix Text", "Provider Other Credential Text", "Provider Other Last Name Type Code",
    "Provider First Line Business Mailing Address", "Provider Second Line Business Mailing Address",
    f"{MAILING} City Name", f"{MAILING} State Name", f"{MAILING} Postal Code",
    f"{MAILING} Country Code (If outside U.S.)", f"{MAILING} Telephone Number", f"{MAILING} Fax Number",
    "Provider First Line Business Practice Location Address", "Provider Second Line Business Practice Location Address",
    f"{LOCATION} City Name", f"{LOCATION} State Name", f"{LOCATION} Postal Code",
    f"{LOCATION} Country Code (If outside U.S.)", f"{LOCATION} Telephone Number", f"{LOCATION} Fax Number",
    "Provider Enumeration Date", "Last Update Date", "NPI Deactivation Reason Code", "NPI Deactivation Date",
    "NPI Reactivation Date", "Provider Gender Code", "Authorized Official Last Name", "Authorized Official First Name",
    "Authorized Official Middle Name", "Authorized Official Title or Position", "Authorized Official Telephone Number",
]
_SLOTS = [name for n in range(1, 16) for name in (
    f"Healthcare Provider Taxonomy Code_{n}", f"Provider License Number_{n}", f"Provider License Number State Code_{n}",
    f"Healthcare Provider Primary Taxonomy Switch_{n}")]
_OTHER_IDS = [name for n in range(1, 51) for name in (
    f"Other Provider Identifier_{n}", f"Other Provider Identifier Type Code_{n}", f"Other Provider Identifier State_{n}",
    f"Other Provider Identifier Issuer_{n}")]
_TAIL = [
    "Is Sole Proprietor", "Is Organization Subpart", "Parent Organization LBN", "Parent Organization TIN",
    "Authorized Official Name Prefix Text", "Authorized Official Name Suffix Text", "Authorized Official Credential Text",
    *(f"Healthcare Provider Taxonomy Group_{n}" for n in range(1, 16)), "Certification Date",
]
HEADER: list[str] = [*_IDENTITY, *_SLOTS, *_OTHER_IDS, *_TAIL]
assert len(HEADER) == 330
_POSITION = {name: i for i, name in enumerate(HEADER)}
ACUPUNCTURIST = "171100000X"


def row(npi: str, *, entity: str = "1", first: str = "MEI", last: str = "CHEN", credential: str = "L.AC.",
        city: str = "CAMBRIDGE", state: str = "MA", postal: str = "021391234", line1: str = "1 MAIN ST",
        taxonomies: Iterable[tuple[int, str, str, str]] = ((1, ACUPUNCTURIST, "AC12345", "MA"),),
        deactivated: str = "", reactivated: str = "", **extra: str) -> list[str]:
    """Return one data row; ``taxonomies`` are (slot, code, licence number, licence state)."""
    cells = [""] * len(HEADER)
    values: dict[str, Any] = {
        "NPI": npi, "Entity Type Code": entity, "Provider Last Name (Legal Name)": last if entity == "1" else "",
        "Provider First Name": first if entity == "1" else "", "Provider Credential Text": credential,
        "Provider Organization Name (Legal Business Name)": "" if entity == "1" else f"{last} CLINIC",
        "Provider First Line Business Mailing Address": "PO BOX 9", f"{MAILING} City Name": "BOSTON",
        f"{MAILING} State Name": "MA", f"{MAILING} Postal Code": "02101",
        "Provider First Line Business Practice Location Address": line1, f"{LOCATION} City Name": city,
        f"{LOCATION} State Name": state, f"{LOCATION} Postal Code": postal,
        f"{LOCATION} Telephone Number": "6175550100", "Provider Enumeration Date": "07/06/2007",
        "NPI Deactivation Date": deactivated, "NPI Reactivation Date": reactivated,
        "Provider Gender Code": "F" if entity == "1" else "", **extra,
    }
    for slot, code, licence, licence_state in taxonomies:
        values |= {f"Healthcare Provider Taxonomy Code_{slot}": code, f"Provider License Number_{slot}": licence,
                   f"Provider License Number State Code_{slot}": licence_state,
                   f"Healthcare Provider Primary Taxonomy Switch_{slot}": "Y" if slot == 1 else "N"}
    for name, value in values.items():
        cells[_POSITION[name]] = value
    return cells


def writer(stream: IO[str]) -> Any:
    """Return a csv writer quoting every field, as CMS writes the file, with the header written."""
    out = csv.writer(stream, quoting=csv.QUOTE_ALL, lineterminator="\n")
    out.writerow(HEADER)
    return out


def write_file(path: Path, rows: Iterable[list[str]]) -> Path:
    """Write a complete file (header and rows) and return its path."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        out = writer(stream)
        out.writerows(rows)
    return path
