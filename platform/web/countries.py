"""Countries as analysts type them: a name, a common short name or a code, never truncated.

"Singapore", "singapore", "SG" and "SGP" are all Singapore (SG); a text that names no country is
an error naming what was typed, never silently cut to its first two letters (which made
"Singapore" into SI, Slovenia)."""

from __future__ import annotations

from functools import cache

import pycountry

# Names analysts use that ISO 3166 spells otherwise (UK is the ISO code of no country).
ALIASES = {
    "uk": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "russia": "RU",
    "turkey": "TR",
    "macau": "MO",
    "korea": "KR",
    "north korea": "KP",
    "dprk": "KP",
    "burma": "MM",
    "holland": "NL",
    "uae": "AE",
    "emirates": "AE",
    "ivory coast": "CI",
    "czech republic": "CZ",
    "america": "US",
    "prc": "CN",
}


class UnknownCountry(ValueError):
    pass


@cache
def country_choices() -> list[tuple[str, str]]:
    """(code, short name) of every ISO 3166-1 country, by name."""
    found = [(c.alpha_2, getattr(c, "common_name", c.name)) for c in pycountry.countries]
    return sorted(found, key=lambda pair: pair[1])


@cache
def country_name(code: str) -> str:
    """The short English name of an alpha-2 code ("SG" -> "Singapore"); the code if unknown."""
    found = pycountry.countries.get(alpha_2=code.upper()) if code else None
    return getattr(found, "common_name", found.name) if found else code


def parse_country(text: str) -> str:
    """The alpha-2 code for a name or code as typed; UnknownCountry when it names none."""
    cleaned = " ".join(text.replace("(", " ").replace(")", " ").split())
    if not cleaned:
        return ""
    # "Singapore (SG)" as the picker shows it
    tail = cleaned.rsplit(" ", 1)[-1]
    code = tail.upper()
    if (
        len(tail) == 2
        and tail.isalpha()
        and pycountry.countries.get(alpha_2=code)
        and (cleaned.upper() == code or country_name(code).lower() in cleaned.lower())
    ):
        return code
    alias = ALIASES.get(cleaned.lower())
    if alias:
        return alias
    try:
        return str(pycountry.countries.lookup(cleaned).alpha_2)
    except LookupError:
        raise UnknownCountry(
            f"“{text.strip()}” is not a country we know: type its name (Singapore) or "
            "its two-letter ISO code (SG)"
        ) from None
