"""One-line errors for regimen text the grammar rejects: which field, which value.

When lark's LALR parser stops (``UnexpectedCharacters`` from the lexer, ``UnexpectedToken`` from
the parser, or an early end of text), the text is parsed again token by token with lark's
interactive parser to learn what came before the failure; the failure is then named by the
clause it broke (dose, unit, route, frequency, count, cycles, duration, start), quoting what the
user typed, e.g. ``route: unknown route 'po' (expected sc, im, iv bolus or iv infusion)``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from il2sim.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from lark import Lark, Token

__all__ = ["syntax_error"]

_ROUTE_TERMINALS = {"SC", "IM", "IV", "BOLUS", "INFUSION", "CIV", "IVINF"}
_FREQ_TERMINALS = {"FREQ_WORD", "Q"}
_COUNT_TERMINALS = {"X", "FOR"}
_MODIFIER_TERMINALS = {"OVER", "AT"}
_UNITS_HELP = "(expected IU, kIU, MIU, ug or mg)"
_ROUTES_HELP = "(expected sc, im, iv bolus or iv infusion)"


def _word(text: str, pos: int) -> str:
    """The whitespace-delimited word of ``text`` that starts at ``pos``."""
    m = re.match(r"\S*", text[pos:])
    return m.group(0) if m else ""


def _segment_text(text: str, pos: int) -> str:
    """The ``+``-separated segment of ``text`` that holds position ``pos``."""
    start = text.rfind("+", 0, pos) + 1
    end = text.find("+", pos)
    return text[start : len(text) if end < 0 else end].strip()


def _tokens_and_error(parser: Lark, text: str) -> tuple[list[Token], Exception]:
    """Re-parse ``text`` interactively: the tokens accepted before the failure, and the failure."""
    from lark.exceptions import UnexpectedInput, UnexpectedToken

    ip = parser.parse_interactive(text)
    toks: list[Token] = []
    try:
        for tok in ip.iter_parse():
            toks.append(tok)
        ip.feed_eof(toks[-1] if toks else None)
    except UnexpectedInput as exc:
        if isinstance(exc, UnexpectedToken) and toks and exc.token is toks[-1]:
            toks.pop()
        return toks, exc
    except InputError as exc:  # a number check that runs while the parser reduces
        return toks, exc
    raise AssertionError(f"regimen text {text!r} failed once and parsed the second time")


def syntax_error(parser: Lark, text: str) -> InputError:
    """The :class:`InputError` for ``text``, which ``parser`` rejected."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    toks, exc = _tokens_and_error(parser, text)
    if isinstance(exc, InputError):
        return exc
    expected: set[str]
    bad: Any = None
    if isinstance(exc, UnexpectedCharacters):
        pos = int(exc.pos_in_stream or 0)
        expected = set(exc.allowed or ())
    else:
        assert isinstance(exc, UnexpectedToken)
        expected = set(exc.expected or ())
        bad = exc.token
        pos = len(text) if bad.type == "$END" else int(bad.start_pos or 0)
    at_end = bad is not None and bad.type == "$END"
    word = "" if at_end else _word(text, pos)
    seg_toks = toks[max((i for i, t in enumerate(toks) if t.type == "PLUS"), default=-1) + 1 :]
    prev = seg_toks[-1].type if seg_toks else None
    prev2 = seg_toks[-2].type if len(seg_toks) > 1 else None
    bad_type = bad.type if bad is not None else None
    return _classify(text, pos, word, expected, seg_toks, prev, prev2, bad_type, at_end)


def _classify(
    text: str,
    pos: int,
    word: str,
    expected: set[str],
    seg_toks: list[Token],
    prev: str | None,
    prev2: str | None,
    bad_type: str | None,
    at_end: bool,
) -> InputError:
    """Name the clause that failed (see the module docstring)."""
    seg = _segment_text(text, pos)
    since = text[seg_toks[-1].start_pos : pos] if seg_toks else ""
    if prev is None:  # a segment must start with its dose
        if at_end or bad_type == "PLUS":
            return InputError(f"empty segment in {text!r}", field="regimen", value=text)
        return InputError(f"must be a number, got {word!r}", field="dose", value=word)
    if "UNIT" in expected:
        if at_end:
            return InputError(
                f"missing after the dose number in {seg!r} {_UNITS_HELP}", field="unit"
            )
        unit = re.match(r"[^\s/+@0-9.]*", word)
        value = unit.group(0) if unit and unit.group(0) else word
        return InputError(f"unknown unit {value!r} {_UNITS_HELP}", field="unit", value=value)
    if prev == "SLASH" or "M2" in expected:  # after "/" in the dose
        value = "/" + word
        return InputError(
            f"expected /m2, /day or /h after the unit, got {value!r}", field="dose", value=value
        )
    if expected & _ROUTE_TERMINALS and not expected & _FREQ_TERMINALS:
        if at_end:
            return InputError(f"missing after the dose in {seg!r}", field="route", value=None)
        return InputError(f"unknown route {word!r} {_ROUTES_HELP}", field="route", value=word)
    if prev == "AT" or (prev == "DAY" and prev2 == "AT"):
        value = since + word
        return InputError(f"expected @DAY, got {value!r}", field="start", value=value)
    if prev in ("FOR", "OVER") or (prev == "NUMBER" and prev2 in ("FOR", "OVER")):
        what = "for" if "FOR" in (prev, prev2) else "over"
        start = seg_toks[-1 if prev == what.upper() else -2].end_pos
        value = (text[start:pos] + word).strip()
        if what == "for":
            return InputError(f"'for' needs a span like 14d, got {value!r}", field="count", value=value)
        return InputError(
            f"'over' needs a duration like 6h, got {value!r}", field="duration", value=value
        )
    if prev == "X":
        value = since + word
        return InputError(f"expected xN or xNd, got {value!r}", field="count", value=value)
    if prev == "Q" or (prev == "NUMBER" and prev2 == "Q"):
        value = text[seg_toks[-1 if prev == "Q" else -2].start_pos : pos] + word
        return InputError(
            f"expected qNd, qNh or qNw, got {value!r}", field="frequency", value=value
        )
    if expected and expected <= _COUNT_TERMINALS:
        got = f", got {word!r}" if word else ""
        return InputError(
            f"a repeat interval needs a count, e.g. q14d x6{got}", field="cycles", value=word
        )
    kinds = [t.type for t in seg_toks]
    n_freq = sum(k in _FREQ_TERMINALS for k in kinds)
    n_count = sum(k in _COUNT_TERMINALS for k in kinds)
    after_modifier = any(k in _MODIFIER_TERMINALS for k in kinds) and (n_freq + n_count) > 0
    is_freq = bad_type in _FREQ_TERMINALS or (bad_type is None and _looks_like_freq(word))
    is_count = bad_type in _COUNT_TERMINALS or (bad_type is None and word[:1] in ("x", "X"))
    if (is_freq or is_count) and after_modifier and _last_clause_is_modifier(kinds):
        field = "frequency" if is_freq else "count"
        return InputError(
            f"{word!r} must stay with the rest of the schedule, before 'over' and '@' "
            "(e.g. '1 MIU sc qd x3 q14d x6 @42')",
            field=field,
            value=word,
        )
    if is_freq:
        if n_count == 0:
            return InputError(
                f"a second frequency needs a count before it (a cycle repeats a block, e.g. "
                f"qd x3 q14d x6), got {word!r}",
                field="frequency",
                value=word,
            )
        return InputError(f"too many frequencies, got {word!r}", field="frequency", value=word)
    if is_count:
        if bad_type is None and not re.match(r"[xX]\s*[-+.0-9]", text[pos:]):
            return InputError(f"expected xN or xNd, got {word!r}", field="count", value=word)
        return InputError(f"too many counts, got {word!r}", field="count", value=word)
    if word.startswith("@"):
        return InputError(f"expected @DAY, got {word!r}", field="start", value=word)
    if at_end:
        return InputError(f"unexpected end of {seg!r}", field="regimen", value=seg)
    return InputError(f"unexpected {word!r} in {seg!r}", field="regimen", value=word)


def _looks_like_freq(word: str) -> bool:
    return bool(re.match(r"(?i)q[0-9a-z]", word))


def _last_clause_is_modifier(kinds: list[str]) -> bool:
    """True when the last clause of the segment so far is an ``over`` or ``@`` modifier."""
    for k in reversed(kinds):
        if k in _MODIFIER_TERMINALS:
            return True
        if k in _FREQ_TERMINALS or k in _COUNT_TERMINALS:
            return False
    return False
