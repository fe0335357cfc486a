"""Quantity parsing: exact values, scheduler units, the fast paths and the cache agree with the
general parser, and invalid input raises QuantityError."""

from __future__ import annotations

from fractions import Fraction

import pytest

from podtriage.quantity import QuantityError, format_amount, parse_quantity, to_scheduler_units


@pytest.mark.parametrize(("raw", "expected"), [
    ("1e3", Fraction(1000)),
    ("1E3", Fraction(1000)),  # exponent, not the Exa suffix
    ("1E", Fraction(10**18)),  # Exa
    ("2e-3", Fraction(2, 1000)),
    ("0.5Gi", Fraction(2**29)),
    ("1.5Gi", Fraction(3 * 2**29)),
    ("100m", Fraction(1, 10)),
    ("1.5", Fraction(3, 2)),
    (".5", Fraction(1, 2)),
    ("5.", Fraction(5)),
    ("+2", Fraction(2)),
    ("-1", Fraction(-1)),
    ("  250m ", Fraction(1, 4)),
    ("128Mi", Fraction(128 * 2**20)),
    ("4Ki", Fraction(4096)),
    ("2k", Fraction(2000)),
    ("3M", Fraction(3 * 10**6)),
    ("1G", Fraction(10**9)),
    ("7T", Fraction(7 * 10**12)),
    ("5n", Fraction(5, 10**9)),
    ("5u", Fraction(5, 10**6)),
    ("110", Fraction(110)),
    ("007", Fraction(7)),
    ("1e30", Fraction(10**30)),
    ("1e-30", Fraction(1, 10**30)),
    (2, Fraction(2)),
    (0, Fraction(0)),
    (0.5, Fraction(1, 2)),
    (1.1, Fraction(11, 10)),  # via str(): the decimal the user wrote, not the binary float
])
def test_parse(raw: object, expected: Fraction) -> None:
    assert parse_quantity(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "abc", "1.2.3", "Mi", "1 Gi", "1KiB", "1mi", "10i", "1e", "1e3Mi", "--1", "1,5",
    "1" * 65, "1e31", "1e-31", "1e999999",
    None, True, False, float("inf"), float("nan"), [], {},
])
def test_invalid(raw: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(raw)
    with pytest.raises(QuantityError):
        to_scheduler_units("cpu", raw)


def test_huge_exponent_message_names_the_exponent() -> None:
    with pytest.raises(QuantityError, match="exponent out of range"):
        parse_quantity("5e40")


@pytest.mark.parametrize(("resource", "raw", "units"), [
    ("cpu", "100m", 100),
    ("cpu", "1", 1000),
    ("cpu", 2, 2000),
    ("cpu", "0.5", 500),
    ("cpu", "1e-4", 1),  # 0.1 millicore rounds up, as MilliValue does
    ("cpu", "1.5", 1500),
    ("memory", "128Mi", 128 * 2**20),
    ("memory", "1.5Gi", 3 * 2**29),
    ("memory", "100m", 1),  # 0.1 byte rounds up to 1
    ("memory", "1e3", 1000),
    ("pods", "110", 110),
    ("nvidia.com/gpu", 1, 1),
    ("ephemeral-storage", "95551679124", 95551679124),
])
def test_scheduler_units(resource: str, raw: object, units: int) -> None:
    assert to_scheduler_units(resource, raw) == units
    assert to_scheduler_units(resource, raw) == units  # the cached answer is the same


def test_cache_keeps_resources_and_types_apart() -> None:
    assert to_scheduler_units("cpu", "2") == 2000
    assert to_scheduler_units("memory", "2") == 2
    assert to_scheduler_units("cpu", 1) == 1000
    with pytest.raises(QuantityError):
        to_scheduler_units("cpu", True)  # True == 1, but a bool is not a quantity
    with pytest.raises(QuantityError):
        to_scheduler_units("cpu", "bogus")
    with pytest.raises(QuantityError):
        to_scheduler_units("cpu", "bogus")  # errors are not cached away


def test_str_subclass_is_parsed_like_str() -> None:
    class Text(str):
        pass

    assert to_scheduler_units("cpu", Text("250m")) == 250


@pytest.mark.parametrize("n", [0, 1, 9, 10, 99, 1000, 12345, 10**18])
@pytest.mark.parametrize("suffix", ["", "m", "n", "u", "k", "M", "G", "T", "P", "E",
                                    "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"])
def test_fast_path_agrees_with_the_general_parser(n: int, suffix: str) -> None:
    # "n.0<suffix>" takes the regular-expression path; "n<suffix>" the integer fast path.
    assert parse_quantity(f"{n}{suffix}") == parse_quantity(f"{n}.0{suffix}")


def test_format_amount() -> None:
    assert format_amount("cpu", 1500) == "1500m"
    assert format_amount("cpu", 2000) == "2"
    assert format_amount("memory", 3 * 2**30) == "3Gi"
    assert format_amount("pods", 7) == "7"
