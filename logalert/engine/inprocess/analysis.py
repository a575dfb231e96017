"""The standard analyzer: Unicode word segmentation (UAX #29, as Lucene's
StandardTokenizer applies it) and lower-casing, for text fields; the same lower-casing
as the analyzer's ``normalize`` for wildcard, prefix and range terms on them.

Word characters join into one token by the UAX #29 rules: letters and digits
(``payment``, ``v1``), letters around ``.``, ``:``, ``'`` (``foo.bar``, ``a:b``,
``it's``), digits around ``.``, ``,``, ``;`` (``10.0.0.1``, ``1,000``) and anything
joined by ``_``. Ideographs and hiragana are one token per character, emoji one each.
Everything else (spaces, ``-``, ``/``, ``@``, ``#``, currency signs…) separates tokens.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

MAX_TOKEN_LENGTH = 255

# Word-break classes (the ones that matter for tokens).
LETTER, NUMERIC, KATAKANA, EXTEND_NUM, MID_LETTER, MID_NUM, MID_NUM_LET, SINGLE = (
    "L", "N", "K", "EN", "ML", "MN", "MNL", "S")  # SINGLE: a token of its own (ideograph, emoji)
OTHER = "O"

_MID_LETTER = frozenset("\u003a\u00b7\u0387\u055f\u05f4\u2027\ufe13\ufe55\uff1a")
_MID_NUM_LET = frozenset("\u002e\u2018\u2019\u2024\ufe52\uff07\uff0e\u0027")
_MID_NUM = frozenset("\u002c\u003b\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b")


def _in(code: int, *ranges: tuple[int, int]) -> bool:
    return any(lo <= code <= hi for lo, hi in ranges)


@lru_cache(maxsize=4096)
def word_class(char: str) -> str:
    if char in _MID_LETTER:
        return MID_LETTER
    if char in _MID_NUM_LET:
        return MID_NUM_LET
    if char in _MID_NUM:
        return MID_NUM
    code = ord(char)
    category = unicodedata.category(char)
    if category == "Pc":
        return EXTEND_NUM
    if _in(code, (0x30A0, 0x30FF), (0x31F0, 0x31FF), (0x32D0, 0x32FE), (0x3300, 0x3357), (0xFF66, 0xFF9D)) \
            or code in (0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x309B, 0x309C):
        return KATAKANA
    if _in(code, (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF), (0x3040, 0x309F)):
        return SINGLE  # ideographs and hiragana: one token per character
    if category == "Nd":
        return NUMERIC
    if category.startswith("L") or category == "Nl":
        return LETTER
    if category == "So" and (_in(code, (0x1F000, 0x1FAFF), (0x2600, 0x27BF))):
        return SINGLE
    return OTHER


def _extends(char: str) -> bool:
    """Combining marks and format characters stay with the character before them."""
    if char == "\u200b":  # zero-width space: a separator, not a format character
        return False
    return unicodedata.category(char) in ("Mn", "Me", "Mc", "Cf") or char == "\u200d"


def _units(text: str) -> list[tuple[str, str]]:
    """(class, characters): each character with the marks that follow it."""
    units: list[tuple[str, str]] = []
    for char in text:
        if units and _extends(char) and units[-1][0] != OTHER:
            units[-1] = (units[-1][0], units[-1][1] + char)
        else:
            units.append((word_class(char), char))
    return units


_AH = (LETTER,)
_MIDLET = (MID_LETTER, MID_NUM_LET)
_MIDNUM = (MID_NUM, MID_NUM_LET)


def _joins(classes: list[str], i: int) -> bool:
    """Whether the boundary between unit i-1 and unit i is not a word break."""
    before, here = classes[i - 1], classes[i]
    prev2 = classes[i - 2] if i >= 2 else None
    after = classes[i + 1] if i + 1 < len(classes) else None
    if before in _AH and here in _AH:
        return True
    if before in _AH and here in _MIDLET and after in _AH:
        return True
    if prev2 in _AH and before in _MIDLET and here in _AH:
        return True
    if before == NUMERIC and here == NUMERIC:
        return True
    if (before in _AH and here == NUMERIC) or (before == NUMERIC and here in _AH):
        return True
    if prev2 == NUMERIC and before in _MIDNUM and here == NUMERIC:
        return True
    if before == NUMERIC and here in _MIDNUM and after == NUMERIC:
        return True
    if before == KATAKANA and here == KATAKANA:
        return True
    if before in (LETTER, NUMERIC, KATAKANA, EXTEND_NUM) and here == EXTEND_NUM:
        return True
    if before == EXTEND_NUM and here in (LETTER, NUMERIC, KATAKANA):
        return True
    return False


_WORDY = frozenset({LETTER, NUMERIC, KATAKANA, SINGLE})


def tokenize(text: str) -> list[str]:
    """The standard tokenizer's tokens of ``text``, not yet lower-cased."""
    units = _units(text)
    classes = [c for c, _ in units]
    tokens: list[str] = []
    current: list[str] = []
    wordy = False
    for i, (cls, chars) in enumerate(units):
        if i and not _joins(classes, i):
            if wordy:
                tokens.append("".join(current))
            current, wordy = [], False
        current.append(chars)
        wordy = wordy or cls in _WORDY
    if current and wordy:
        tokens.append("".join(current))
    out: list[str] = []
    for token in tokens:  # longer tokens are split, as with max_token_length 255
        out.extend(token[i:i + MAX_TOKEN_LENGTH] for i in range(0, len(token), MAX_TOKEN_LENGTH))
    return out


def lower(text: str) -> str:
    """Lower-casing one code point at a time (``İ`` becomes ``i``, as in Java)."""
    if text.isascii():
        return text.lower()
    out = []
    for char in text:
        low = char.lower()
        out.append(low[0] if len(low) != 1 else low)
    return "".join(out)


def analyze(text: str) -> list[str]:
    """The standard analyzer: tokens, lower-cased."""
    return [lower(t) for t in tokenize(text)]


def normalize(text: str) -> str:
    """What the standard analyzer's normalize does to a multi-term query's text."""
    return lower(text)
