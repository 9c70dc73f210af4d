"""Name evidence weighted by token rarity (term-frequency adjusted Fellegi-Sunter weights).

Why: company names are built from a small vocabulary. "Golden Bridge Logistics Co., Ltd." and
"Golden Bridge Industrial Co., Ltd." share every rare token when "Golden Bridge" is a common
stem, so what two names share is worth the information of the shared tokens (log2 of how rare
they are among all names seen), and what they do not share counts against them.

* Token information ``log2((N + N0) / (df + 1))``: N names seen (the node's own and the
  screening lists'), df names containing the token, N0 pseudo-names so that a tiny corpus does
  not make every token look common. Generic business words are capped low, legal forms weigh 0.
* Tokens are not independent: "Golden" and "Bridge" travel together. The information of the
  matched tokens is the rarest one's plus, for each other, only what it adds given the rarest
  (``log2(df(rarest) / df(rarest & other))`` from co-occurrence counts).
* A whole name used by many unrelated companies (Splink's term-frequency adjustment on the full
  value) caps the weight at the name's own rarity.
* Typos match by character-bigram Dice, transliteration and spelling variants by the shared
  normalisation of ``riskscore.matching``, run-together words and acronyms by concatenation.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from riskscore.matching import normalize_name

from .records import GENERIC_WORDS, LEGAL_WORDS, Record, Report, extract, record_names

__all__ = ["NameComparer", "NameStats", "core_tokens", "name_core_key"]

PRIOR_NAMES = 16384  # pseudo-names: an unseen token is as rare as one in 16k names
GENERIC_CAP = 1.5  # bits: agreement on a generic word weighs at most this
FUZZY_DICE = 0.7  # character-bigram Dice at which two tokens are one token mistyped
MAX_TOKENS = 8  # tokens of a name used for co-occurrence counts


def core_tokens(normalized: str) -> list[str]:
    """Distinct tokens of a normalised name without legal forms, in order."""
    seen: dict[str, None] = {}
    for token in normalized.split():
        if token not in LEGAL_WORDS:
            seen.setdefault(token, None)
    return list(seen)


def name_core_key(normalized: str) -> str:
    """Word-order-free key of a normalised name: its non-legal tokens, sorted."""
    return " ".join(sorted(core_tokens(normalized)))


def _pair(a: str, b: str) -> str:
    return f"{a}|{b}" if a < b else f"{b}|{a}"


@dataclass
class NameStats:
    """Document frequencies of name tokens, token pairs, whole names and addresses."""

    n_names: int = 0
    token_df: dict[str, int] = field(default_factory=dict)
    pair_df: dict[str, int] = field(default_factory=dict)
    key_count: dict[str, int] = field(default_factory=dict)
    address_count: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_names(cls, names: Iterable[str], addresses: Iterable[str] = ()) -> NameStats:
        """Counts over names as written (screening-list names and aliases may be included);
        ``addresses`` are address keys (``report_addresses``) for mass-registration weighting."""
        stats = cls()
        stats.add_names(names)
        stats.address_count = dict(Counter(a for a in addresses if a))
        return stats

    @classmethod
    def from_reports(cls, reports: Iterable[Report], extra_names: Iterable[str] = ()) -> NameStats:
        """Counts over every party name and address of ``reports`` plus ``extra_names``."""
        return cls.from_records((extract(r) for r in reports), extra_names)

    @classmethod
    def from_records(cls, records: Iterable[Record], extra_names: Iterable[str] = ()) -> NameStats:
        names: list[str] = list(extra_names)
        addresses: list[str] = []
        for record in records:
            names.extend(record_names(record))
            if record.address_key:
                addresses.append(record.address_key)
        return cls.from_names(names, addresses)

    def add_names(self, names: Iterable[str]) -> None:
        token_df = Counter[str]()
        pair_df = Counter[str]()
        keys = Counter[str]()
        n = 0
        for name in names:
            tokens = core_tokens(normalize_name(name))
            if not tokens:
                continue
            n += 1
            token_df.update(tokens)
            keys[" ".join(sorted(tokens))] += 1
            head = tokens[:MAX_TOKENS]
            pair_df.update(_pair(a, b) for i, a in enumerate(head) for b in head[i + 1 :])
        self.n_names += n
        for target, counts in (
            (self.token_df, token_df),
            (self.pair_df, pair_df),
            (self.key_count, keys),
        ):
            for key, count in counts.items():
                target[key] = target.get(key, 0) + count

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_names": self.n_names,
            "token_df": dict(self.token_df),
            "pair_df": dict(self.pair_df),
            "key_count": dict(self.key_count),
            "address_count": dict(self.address_count),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NameStats:
        def counts(key: str) -> dict[str, int]:
            raw = data.get(key) or {}
            if not isinstance(raw, Mapping):
                raise ValueError(f"NameStats.{key} must be an object")
            return {str(k): int(v) for k, v in raw.items()}

        n = data.get("n_names", 0)
        if not isinstance(n, int) or n < 0:
            raise ValueError("NameStats.n_names must be a non-negative integer")
        return cls(
            n, counts("token_df"), counts("pair_df"), counts("key_count"), counts("address_count")
        )

    def information(self, count: int) -> float:
        """Bits of evidence in agreeing on a value held by ``count`` of the names seen."""
        return math.log2((self.n_names + PRIOR_NAMES) / (count + 1))


def _edit_similarity(a: str, b: str) -> float:
    """1 - (optimal string alignment distance / longer length): typos and swapped letters."""
    if abs(len(a) - len(b)) > 2:
        return 0.0
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return 1.0 - prev[-1] / max(len(a), len(b))


def _bigrams(token: str) -> frozenset[str]:
    padded = f"<{token}>"
    return frozenset(padded[i : i + 2] for i in range(len(padded) - 1))


@dataclass(frozen=True)
class NameVerdict:
    weight: float
    outcome: str  # agree | partial | disagree
    a: int  # index of the name of party a that gave the best weight
    b: int


class NameComparer:
    """Compares normalised names with rarity weights; caches per name pair."""

    def __init__(self, stats: NameStats, floor: float, cap: float) -> None:
        self.stats = stats
        self.floor = floor
        self.cap = cap
        self._cache: dict[tuple[str, str], tuple[float, str]] = {}
        self._grams: dict[str, frozenset[str]] = {}
        self._idf: dict[str, float] = {}
        self._tokens: dict[str, list[str]] = {}

    def idf(self, token: str) -> float:
        value = self._idf.get(token)
        if value is None:
            value = self.stats.information(self.stats.token_df.get(token, 0))
            if token in GENERIC_WORDS:
                value = min(value, GENERIC_CAP)
            self._idf[token] = value
        return value

    def tokens(self, name: str) -> list[str]:
        """Core tokens of a normalised name; an unknown run-together word ("goldenbridge") is
        split into two known words, so it is not mistaken for a rare token."""
        found = self._tokens.get(name)
        if found is None:
            found = []
            df = self.stats.token_df
            for token in core_tokens(name):
                if df.get(token, 0) <= 1 and len(token) >= 6:
                    for cut in range(3, len(token) - 2):
                        head, tail = token[:cut], token[cut:]
                        if df.get(head, 0) >= 3 and df.get(tail, 0) >= 3:
                            found.extend(t for t in (head, tail) if t not in found)
                            break
                    else:
                        found.append(token)
                elif token not in found:
                    found.append(token)
            self._tokens[name] = found
        return found

    def _similarity(self, a: str, b: str) -> float:
        """Token similarity: abbreviation (prefix), bigram Dice, or edit similarity."""
        short, long_ = (a, b) if len(a) <= len(b) else (b, a)
        if len(short) >= 3 and long_.startswith(short):
            return 0.9
        dice = self._dice(a, b)
        if dice >= FUZZY_DICE or dice < 0.3 or min(len(a), len(b)) < 4:
            return dice
        return max(dice, _edit_similarity(a, b))

    def _dice(self, a: str, b: str) -> float:
        ga = self._grams.get(a)
        if ga is None:
            ga = self._grams[a] = _bigrams(a)
        gb = self._grams.get(b)
        if gb is None:
            gb = self._grams[b] = _bigrams(b)
        return 2.0 * len(ga & gb) / (len(ga) + len(gb))

    def compare_parties(
        self, a: tuple[str, ...], b: tuple[str, ...], floor: float | None = None
    ) -> NameVerdict:
        """Best verdict over every name of party a against every name of party b."""
        best = NameVerdict(-math.inf, "disagree", 0, 0)
        for i, na in enumerate(a):
            for j, nb in enumerate(b):
                weight, outcome = self.compare(na, nb)
                if weight > best.weight:
                    best = NameVerdict(weight, outcome, i, j)
        if floor is not None and best.weight < floor:
            return NameVerdict(floor, best.outcome, best.a, best.b)
        return best

    def compare(self, a: str, b: str) -> tuple[float, str]:
        key = (a, b) if a <= b else (b, a)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._compare(*key)
        return hit

    def _fuzzy(self, ua: list[str], ub: list[str]) -> list[tuple[str, str, float]]:
        """Greedy one-to-one matches of leftover tokens: typos, run-together words, acronyms."""
        found: list[tuple[str, str, float]] = []
        for left, right, flip in ((ua, ub, False), (ub, ua, True)):
            if len(right) >= 2 and left:
                joined = "".join(right)
                initials = "".join(t[0] for t in right)
                for token in list(left):
                    if token == joined or (len(token) >= 2 and token == initials):
                        sim = 1.0 if token == joined else 0.8
                        for other in right:
                            found.append((other, token, sim) if flip else (token, other, sim))
                        left.remove(token)
                        right.clear()
                        break
        scored = sorted(
            ((self._similarity(x, y), x, y) for x in ua for y in ub if min(len(x), len(y)) >= 3),
            reverse=True,
        )
        used_a: set[str] = set()
        used_b: set[str] = set()
        for dice, x, y in scored:
            if dice < FUZZY_DICE:
                break
            if x in used_a or y in used_b:
                continue
            used_a.add(x)
            used_b.add(y)
            found.append((x, y, dice))
        for x in used_a:
            ua.remove(x)
        for y in used_b:
            ub.remove(y)
        return found

    def _compare(self, a: str, b: str) -> tuple[float, str]:
        ta, tb = self.tokens(a), self.tokens(b)
        if not ta or not tb:
            return 0.0, "partial"
        shared = [t for t in ta if t in tb]
        ua = [t for t in ta if t not in shared]
        ub = [t for t in tb if t not in shared]
        fuzzy = self._fuzzy(ua, ub) if ua and ub else []
        # (token whose frequency counts, similarity): a typo is as common as the commoner form
        matched = [(t, 1.0) for t in shared]
        for x, y, sim in fuzzy:
            matched.append((x if self.idf(x) <= self.idf(y) else y, sim))
        info = self._information(matched)
        info = min(info, self._whole_name_cap(ta, tb))
        penalty = sum(self._penalty(t) for t in (*ua, *ub))
        if ua and ub and any(t not in LEGAL_WORDS for t in (*ua, *ub)):
            penalty += 2.0  # one word replaced by another: a different company
        distinctive = any(t not in GENERIC_WORDS for t, _ in matched)
        weight = info - penalty
        if not distinctive:
            return self.floor, "disagree"
        outcome = "agree" if not ua and not ub and all(s >= 0.99 for _, s in matched) else "partial"
        return max(self.floor, min(self.cap, weight)), outcome

    def _information(self, matched: list[tuple[str, float]]) -> float:
        if not matched:
            return 0.0
        df = self.stats.token_df
        ordered = sorted(matched, key=lambda m: (self.idf(m[0]) * -1, m[0]))
        rarest, sim = ordered[0]
        info = sim * self.idf(rarest)
        base = df.get(rarest, 0) + 1
        for token, s in ordered[1:]:
            together = self.stats.pair_df.get(_pair(rarest, token), 0) + 1
            added = max(0.0, math.log2(base / together)) if base >= together else 0.0
            info += s * min(self.idf(token), added + 0.5)
        return info

    def _whole_name_cap(self, ta: list[str], tb: list[str]) -> float:
        counts = self.stats.key_count
        common = max(counts.get(" ".join(sorted(ta)), 0), counts.get(" ".join(sorted(tb)), 0))
        return self.stats.information(common) + 1.0

    def _penalty(self, token: str) -> float:
        if token in GENERIC_WORDS:
            return 1.0
        return 0.5 * min(self.idf(token), 4.0)
