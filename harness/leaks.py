"""Find secrets and personal data in text a worker wrote: phone numbers in any written form, e-mails, literals.

Used after a fault run on every worker log line and every dead letter's metadata, and by
``tests/integration/test_leaks.py`` on a worker it drives through every path that logs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

import phonenumbers

#: A phone is not part of a longer hex or decimal run: request ids are 16 hex characters.
_NOT_AFTER_HEX, _NOT_BEFORE_HEX = r"(?<![0-9A-Fa-f])", r"(?![0-9A-Fa-f])"


def phone_pattern(number: str, region: str = "US") -> re.Pattern[str]:
    """Any written form of *number*: E.164, national digits, (415) 555-0123, 415.555.0123, +1 415-555-0123…

    Not inside a longer hex or decimal run (a request id, a timestamp, an offset); next to other
    characters it counts (``caller_4155550123``, a JSON ``\n4155550123``).
    """
    parsed = phonenumbers.parse(number, region)
    national = r"[\s().+-]{0,3}".join(str(parsed.national_number))
    return re.compile(rf"{_NOT_AFTER_HEX}(?:\+?{parsed.country_code}[\s().-]{{0,3}})?{national}{_NOT_BEFORE_HEX}")


@dataclass(frozen=True)
class Leak:
    """One forbidden value found in scanned text."""

    what: str
    where: str
    excerpt: str


def find_leaks(
    texts: Mapping[str, str],
    phones: Iterable[str] = (),
    literals: Mapping[str, str] | None = None,
    emails: Iterable[str] = (),
    patterns: Mapping[str, re.Pattern[str]] | None = None,
) -> list[Leak]:
    """Every phone (any form), e-mail (any case), literal secret and *patterns* match in *texts* (name → text)."""
    wanted: dict[str, re.Pattern[str]] = {f"phone {p}": phone_pattern(p) for p in phones}
    wanted |= {f"e-mail {e}": re.compile(re.escape(e), re.IGNORECASE) for e in emails}
    wanted |= {what: re.compile(re.escape(value)) for what, value in (literals or {}).items()}
    wanted |= dict(patterns or {})
    leaks = []
    for where, text in texts.items():
        for what, pattern in wanted.items():
            for match in pattern.finditer(text):
                start, end = max(0, match.start() - 60), match.end() + 60
                leaks.append(Leak(what, where, text[start:end]))
    return leaks


#: Every phone number a fault run sends or its upstream returns is a 415 number: callers
#: (+1415…), the hostile messages' +14155550123 and 4155550123, the records' 415….
ANY_415_PHONE = re.compile(
    rf"{_NOT_AFTER_HEX}(?:\+?1[\s().-]{{0,3}})?\(?415\)?[\s.-]{{0,3}}\d{{3}}[\s.-]{{0,3}}\d{{4}}{_NOT_BEFORE_HEX}"
)
#: An address with a top-level domain of letters (``pkg@3.39.0`` is none); anchored so a long word is not
#: tried at every position.
ANY_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")


def scan_report(texts: Mapping[str, str], literals: Mapping[str, str]) -> dict[str, object]:
    """What ``make faults`` writes: what was scanned, the leaks found (a count per kind and place), a few excerpts.

    Each text is also scanned URL-decoded (``%2B14155550123``, ``c1%40example.com``).
    """
    views = {**texts, **{f"{where} (URL-decoded)": unquote(text) for where, text in texts.items() if "%" in text}}
    leaks = find_leaks(views, literals=literals, patterns={"phone number": ANY_415_PHONE, "e-mail": ANY_EMAIL})
    counts = Counter(f"{leak.what} in {leak.where}" for leak in leaks)
    return {
        "scanned": {where: {"lines": len(text.splitlines()), "bytes": len(text)} for where, text in texts.items()},
        "looked_for": ["phone number", "e-mail", *literals],
        "leaks": dict(counts),
        "examples": [f"{leak.what} in {leak.where}: …{leak.excerpt}…" for leak in leaks[:5]],
    }
