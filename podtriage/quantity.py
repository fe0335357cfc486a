"""Kubernetes resource.Quantity parsing and formatting.

Exact arithmetic with Fraction; the scheduler compares CPU in millicores and everything else
in whole units rounded up (resource.Quantity.Value / MilliValue), and so do we.

A cluster repeats a handful of quantity strings ("100m", "128Mi", "110") across hundreds of
thousands of objects, so `to_scheduler_units` memoises per (resource, text), and the common
shapes (plain integers, an integer with a suffix) skip the regular expression and Fraction.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
            "P": Fraction(10**15), "E": Fraction(10**18)}
_QTY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$")
_MAX_LEN = 64
# Integer suffixes for the fast path: an exact integer multiplier (sub-unit ones are in _MILLI_DIV).
_INT_FACTOR: dict[str, int] = {**_BINARY, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
                               "E": 10**18}
_CACHE_SIZE = 4096  # distinct (resource, quantity) pairs remembered; clusters have a few hundred


class QuantityError(ValueError):
    """Not a valid Kubernetes quantity."""


def _split_int_suffix(text: str) -> tuple[int, str] | None:
    """'128Mi' -> (128, 'Mi'), '4' -> (4, ''), '250m' -> (250, 'm'); None for any other shape."""
    if not text.isascii():
        return None
    if text.isdigit():
        return int(text), ""
    if len(text) >= 3 and text[-1] == "i" and text[:-2].isdigit():
        suffix = text[-2:]
        return (int(text[:-2]), suffix) if suffix in _BINARY else None
    if len(text) >= 2 and text[:-1].isdigit():
        suffix = text[-1]
        return (int(text[:-1]), suffix) if suffix in _DECIMAL else None
    return None


def parse_quantity(value: object) -> Fraction:
    """Parse '100m', '1.5Gi', '1e3', 2, 0.5 into an exact Fraction of base units."""
    if isinstance(value, bool) or value is None:
        raise QuantityError(f"invalid quantity {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(f"invalid quantity {value!r}")
        return Fraction(str(value))
    text = str(value).strip()
    if len(text) > _MAX_LEN:
        raise QuantityError(f"invalid quantity {value!r}")
    fast = _split_int_suffix(text)
    if fast is not None:
        number_int, suffix = fast
        factor = _INT_FACTOR.get(suffix)
        if factor is not None:
            return Fraction(number_int * factor)
        return number_int * _DECIMAL[suffix]
    m = _QTY.match(text)
    if not m:
        raise QuantityError(f"invalid quantity {value!r}")
    number = Fraction(m.group(1))
    suffix, exponent = m.group(2), m.group(3)
    if exponent is not None:
        exp = int(exponent)
        if abs(exp) > 30:
            raise QuantityError(f"quantity exponent out of range in {value!r}")
        return number * Fraction(10) ** exp
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    return number * _DECIMAL[suffix or ""]


def milli_value(q: Fraction) -> int:
    """resource.Quantity.MilliValue: thousandths, rounded up (away from zero)."""
    return math.ceil(q * 1000)


def value(q: Fraction) -> int:
    """resource.Quantity.Value: whole units, rounded up."""
    return math.ceil(q)


def _units_uncached(resource: str, raw: object) -> int:
    q = parse_quantity(raw)
    return milli_value(q) if resource == "cpu" else value(q)


# Keyed on the exact text: "1" and "1.0" are different keys with the same answer, which is fine.
# Invalid quantities raise and are therefore never cached.
_units_cached = lru_cache(maxsize=_CACHE_SIZE)(_units_uncached)


def to_scheduler_units(resource: str, raw: object) -> int:
    """The integer the scheduler compares for this resource: millicores for cpu, whole units else."""
    if type(raw) is str:
        return _units_cached(resource, raw)
    # ints, floats (and junk that raises): cheap or rare; bool must not share a cache key with 1/0
    return _units_uncached(resource, raw)


def format_amount(resource: str, amount: int) -> str:
    """Human form of a scheduler-unit amount: '1500m', '2', '3Gi', '512Mi', '7'."""
    if resource == "cpu":
        if amount % 1000 == 0:
            return str(amount // 1000)
        return f"{amount}m"
    if resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-"):
        return format_bytes(amount)
    return str(amount)


def format_bytes(amount: int) -> str:
    if amount == 0:
        return "0"
    for suffix, factor in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if amount % factor == 0 or amount >= 10 * factor:
            if amount % factor == 0:
                return f"{amount // factor}{suffix}"
            return f"{amount / factor:.1f}{suffix}"
    return str(amount)
