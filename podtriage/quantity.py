"""Kubernetes resource.Quantity parsing and formatting.

Exact arithmetic with Fraction; the scheduler compares CPU in millicores and everything else
in whole units rounded up (resource.Quantity.Value / MilliValue), and so do we.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
            "P": Fraction(10**15), "E": Fraction(10**18)}
_QTY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$")


class QuantityError(ValueError):
    """Not a valid Kubernetes quantity."""


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
    m = _QTY.match(text)
    if not m or len(text) > 64:
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


def to_scheduler_units(resource: str, raw: object) -> int:
    """The integer the scheduler compares for this resource: millicores for cpu, whole units else."""
    q = parse_quantity(raw)
    return milli_value(q) if resource == "cpu" else value(q)


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
