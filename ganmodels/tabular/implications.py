"""Implications between columns' exact values: "hours is 0 => earnings is 0", "income is null
=> employment is null", "species is Gentoo => island is Biscoe".

A GAN draws each one-hot span (a level, a heap, a null flag) with its own Gumbel noise, so two
values that always go together in the data come apart in a share of generated rows, and a
boosted detector tells those rows at once. Prepare finds the implications that hold in at least
`share` of the train rows that have the premise (and could not by chance), G applies them as
the last step of its forward pass (softly: the consequence's one-hot is pulled toward its value
by the premise's probability, so G learns the rest of the table under them), and decoding
applies them exactly.

A side of an implication is {"column", "value"} (a level or a heap), or {"column", "null":
true/false}; the model sees them as (span index, one-hot index) pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# An implication is kept when seeing it by chance (each column drawn on its own) is less
# likely than this: hundreds of candidate pairs are tested, so a loose bar finds coincidences.
CHANCE = 1e-9
# The premise holds in at least this many train rows. No share of the table is asked as well:
# psid's 27 "no histories" rows (0.9%), all with kids 99, are what a classifier of `married`
# reads, and CHANCE already keeps coincidences out (27 of 27 by chance: p < 1e-50).
MIN_ROWS = 20

Slot = tuple[dict[str, Any], list[tuple[int, int]], list[tuple[int, int]]]


def slots(columns: Sequence[dict], encoders: Sequence[dict], spans: Sequence[Any]) -> list[Slot]:
    """Every exact value a row can take, as (side, premise pairs, consequence pairs): the
    (span index, one-hot index) that must be on for it, and those that make it so."""
    at = {(s.column, s.role): k for k, s in enumerate(spans)}
    out: list[Slot] = []
    for col, enc in zip(columns, encoders, strict=True):
        name = col["name"]
        null = at.get((name, "null"))
        present = [(null, 0)] if null is not None else []
        # An upper column's modes are its excess over another column's value: no exact value.
        for role in ("level", "mode") if "at_least" not in enc else ():
            if (name, role) not in at:
                continue
            values = enc["heaps"] if "heaps" in enc else enc["levels"]
            for i, value in enumerate(values):
                pair = [(at[(name, role)], i)]
                out.append(({"column": name, "value": _plain(value)}, pair + present,
                            pair + present))  # fmt: skip
        if null is not None:
            out.append(({"column": name, "null": True}, [(null, 1)], [(null, 1)]))
            out.append(({"column": name, "null": False}, [(null, 0)], [(null, 0)]))
    return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _holds(rows: np.ndarray, starts: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    on = np.ones(len(rows), dtype=bool)
    for span, i in pairs:
        on &= rows[:, starts[span] + i] > 0.5
    return on


def find_implications(
    rows: np.ndarray, widths: Sequence[int], found: list[Slot], share: float
) -> list[dict[str, Any]]:
    """Implications that hold in `share` of the encoded train rows having their premise."""
    from scipy.stats import binom  # fitting only: serving needs numpy alone

    starts = np.cumsum([0, *widths])[:-1]
    on = np.stack([_holds(rows, starts, premise) for _, premise, _ in found], axis=1)
    n = len(rows)
    count = on.sum(axis=0).astype(np.float64)
    both = on.T.astype(np.float64) @ on.astype(np.float64)
    out = []
    for a, (side_a, _, _) in enumerate(found):
        if count[a] < MIN_ROWS:
            continue
        for b, (side_b, _, _) in enumerate(found):
            if side_a["column"] == side_b["column"] or count[b] == n:
                continue
            misses = count[a] - both[a, b]
            if both[a, b] < share * count[a]:
                continue
            if binom.logcdf(misses, count[a], 1 - count[b] / n) >= np.log(CHANCE):
                continue
            out.append({"if": side_a, "then": side_b, "rows": int(count[a]),
                        "share": round(float(both[a, b] / count[a]), 4)})  # fmt: skip
    return out


def positions(rules: Sequence[dict[str, Any]], found: list[Slot]) -> list[list[list[list[int]]]]:
    """Each implication as [premise pairs, consequence pairs] of (span index, one-hot index)."""
    index = {_key(side): (premise, then) for side, premise, then in found}
    out = []
    for rule in rules:
        for side in (rule["if"], rule["then"]):
            if _key(side) not in index:
                raise ValueError(f"implication {rule}: {side} is not a value of the table")
        premise, then = index[_key(rule["if"])][0], index[_key(rule["then"])][1]
        out.append([[list(p) for p in premise], [list(p) for p in then]])
    return out


def _key(side: dict[str, Any]) -> tuple[str, str, str]:
    kind = "null" if "null" in side else "value"
    return side["column"], kind, repr(side.get("null", side.get("value")))


def apply_exactly(rows: np.ndarray, widths: Sequence[int], rules: Sequence[Any]) -> np.ndarray:
    """Rows (G's output) with each implication made true where its premise's one-hots win,
    in order, until none changes a row (a chain: null income => null hours => ...)."""
    rows = np.array(rows, dtype=np.float64)
    starts = np.cumsum([0, *widths])[:-1]
    for _ in range(len(rules) + 1):
        changed = False
        for premise, then in rules:
            hit = np.ones(len(rows), dtype=bool)
            for span, i in premise:
                piece = rows[:, starts[span] : starts[span] + widths[span]]
                hit &= piece.argmax(axis=1) == i
            for span, i in then:
                piece = rows[:, starts[span] : starts[span] + widths[span]]
                wrong = hit & (piece.argmax(axis=1) != i)
                if wrong.any():
                    piece[wrong] = np.eye(widths[span])[i]
                    changed = True
        if not changed:
            break
    return rows


# One batch of rules: each rule's premise pairs; each (span, index) the batch writes, with the
# positions (in the batch) of the rules that write it.
Layer = tuple[list[list[tuple[int, int]]], list[tuple[int, int]], list[list[int]]]


def _spans(pairs: Any) -> set[int]:
    return {int(s) for s, _ in pairs}


def layers(rules: Sequence[Any]) -> list[Layer]:
    """The rules (positions) in the fewest batches that give what applying them one by one
    gives, so G applies them in a few tensor ops each (acs12's 62 rules: 8 batches).

    A rule joins the first batch after every earlier rule whose writes it reads or overwrites
    with another value, and none before a batch that reads what it writes. Rules writing the
    same value into a span may share a batch: "p1 then p2" pulls it by 1 - (1 - p1)(1 - p2),
    in either order."""
    placed: list[int] = []
    for k, (premise, then) in enumerate(rules):
        writes = {(int(s), int(i)) for s, i in then}
        at = 0
        for e in range(k):
            e_writes = {(int(s), int(i)) for s, i in rules[e][1]}
            other_value = _spans(e_writes ^ writes) & _spans(e_writes) & _spans(writes)
            if _spans(e_writes) & _spans(premise) or other_value:
                at = max(at, placed[e] + 1)
            if _spans(writes) & _spans(rules[e][0]):
                at = max(at, placed[e])
        placed.append(at)
    out: list[Layer] = []
    for at in range(max(placed, default=-1) + 1):
        members = [k for k, p in enumerate(placed) if p == at]
        groups: dict[tuple[int, int], list[int]] = {}
        for j, k in enumerate(members):
            for s, i in rules[k][1]:
                groups.setdefault((int(s), int(i)), []).append(j)
        premises = [[(int(s), int(i)) for s, i in rules[k][0]] for k in members]
        out.append((premises, list(groups), list(groups.values())))
    return out
