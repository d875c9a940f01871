"""The one mask for personal data: phone numbers and ID card numbers, wherever they appear.

Applied wherever text leaves the citizen's own chat or reaches a log or a report.
"""

from __future__ import annotations

import re

# A mainland mobile (1xx xxxx xxxx, spaces or dashes allowed) or a landline with area code.
_PHONE = re.compile(
    r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)"
    r"|(?<!\d)(0\d{2,3})[\s-]?(\d{3,4})(\d{4})(?!\d)")
# A resident ID number: 18 characters (the last may be X), or the old 15 digits.
_ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])(\d{4})\d{10}(\d{3}[0-9Xx])(?![0-9A-Za-z])"
    r"|(?<![0-9A-Za-z])(\d{4})\d{8}(\d{3})(?![0-9A-Za-z])")


def _phone(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}****{match.group(3)}"
    return f"{match.group(4)}****{match.group(6)}"


def _id_number(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}**********{match.group(2)}"
    return f"{match.group(3)}********{match.group(4)}"


def mask_personal(text: str) -> str:
    """`text` with every phone and ID number masked (the ends kept, for reference)."""
    return _PHONE.sub(_phone, _ID_NUMBER.sub(_id_number, text))
