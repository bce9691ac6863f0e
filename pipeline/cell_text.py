"""Text from outside (a client's name, a phone number) as a document cell that stays text.

A client types its own name in its hub, and spreadsheet programs read a cell that opens with
`=`, `+`, `-` or `@` as a formula (tab and CR openers slip past checks for those four). So every
document cell of text from the API, in the workbook and in CSV output, goes through
`inert_text`: OWASP's CSV-injection advice, a leading apostrophe. The warehouse keeps the exact
text; only documents carry the apostrophe.
"""

from __future__ import annotations

FORMULA_OPENERS = ("=", "+", "-", "@", "\t", "\r")
APOSTROPHE = "'"


def inert_text(text: str) -> str:
    """`text` with a leading apostrophe when it opens like a formula. Text that already opens
    with an apostrophe gets one more, so removing one leading apostrophe from a cell always
    gives the exact text back."""
    if text.startswith((*FORMULA_OPENERS, APOSTROPHE)):
        return APOSTROPHE + text
    return text
