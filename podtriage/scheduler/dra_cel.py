"""The CEL environment of DRA device selectors, on the `cel-python` (celpy) evaluator.

Upstream (k8s.io/dynamic-resource-allocation/cel): a selector sees one variable, `device`, with
  - `driver` (string) and `allowMultipleAllocations` (bool);
  - `attributes[domain][id]`: attributes grouped by the domain of their qualified name (an
    unqualified name belongs to the driver's domain); a domain the device does not have is an
    *empty map*, so `device.attributes["other"].x` is a runtime error "no such key: x", and
    `has(device.attributes["other"].x)` is false;
  - `capacity[domain][id]`: Quantity values.
Attribute values are int, bool, string or a semantic version (the Kubernetes `semver` type).
The Kubernetes CEL libraries a selector most often uses are provided here: `quantity()` with
compareTo/isLessThan/isGreaterThan/add/sub/asInteger/asApproximateFloat/sign/isInteger/isQuantity,
`semver()` with major/minor/patch/compareTo/isLessThan/isGreaterThan/isSemver, and the string
extensions lowerAscii/upperAscii/trim.

Known gaps (the evaluator, not us, decides these): celpy does not parse the optional-field syntax
(`x.?y.orValue(z)`, `optional.of`), and the other Kubernetes libraries (regex `find`, lists, sets,
urls, ip/cidr, format) are not declared. An expression podtriage cannot compile or run for such a
reason is reported as `Unevaluable` — never as a match or a mismatch — so a device request whose
selector we cannot judge is "unknown", and a pod is never said to fit because of it.

Runtime errors the real scheduler also raises (a missing attribute, a type mismatch) come back as
`CelRuntimeError`: upstream aborts the scheduling attempt with "CEL runtime error".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .. import model as m
from ..quantity import QuantityError, parse_quantity


class Unevaluable(Exception):
    """podtriage's CEL evaluator cannot judge this expression (unsupported syntax or library)."""


class CelRuntimeError(Exception):
    """The expression fails at run time for this device, as it would in the scheduler."""


# --- the Kubernetes types ------------------------------------------------------------------------

@dataclass(frozen=True)
class Quantity:
    value: Fraction
    text: str = ""

    def __repr__(self) -> str:
        return f"quantity({self.text or self.value})"


_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$")


@dataclass(frozen=True)
class Semver:
    major: int
    minor: int
    patch: int
    pre: tuple[Any, ...] = ()
    text: str = ""

    def key(self) -> tuple[Any, ...]:
        # semver 2.0.0 precedence: a pre-release sorts before the release
        pre: tuple[Any, ...] = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)


def parse_semver(text: str) -> Semver:
    mt = _SEMVER.match(text.strip())
    if mt is None:
        raise CelRuntimeError(f"invalid semver {text!r}")
    pre = tuple(int(p) if p.isdigit() else p for p in (mt.group(4) or "").split(".") if p)
    return Semver(int(mt.group(1)), int(mt.group(2)), int(mt.group(3)), pre, text)


def _celpy() -> Any:
    try:
        import celpy
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise Unevaluable(f"the CEL evaluator (cel-python) is not installed: {exc}") from None
    return celpy


@functools.lru_cache(maxsize=1)
def _types() -> Any:
    from celpy import celtypes

    class DefaultMap(celtypes.MapType):  # type: ignore[misc, valid-type]
        """A map whose missing keys read as an empty map (upstream's newStringInterfaceMapWithDefault)."""

        def __getitem__(self, key: Any) -> Any:
            try:
                return super().__getitem__(key)
            except KeyError:
                return celtypes.MapType({})

    return celtypes, DefaultMap


def _int(x: int) -> Any:
    celtypes, _ = _types()
    return celtypes.IntType(x)


def _cmp(a: Any, b: Any) -> int:
    if isinstance(a, Quantity) and isinstance(b, Quantity):
        return (a.value > b.value) - (a.value < b.value)
    if isinstance(a, Semver) and isinstance(b, Semver):
        ka, kb = a.key(), b.key()
        return (ka > kb) - (ka < kb)
    raise CelRuntimeError(f"no such overload: compareTo({type(a).__name__}, {type(b).__name__})")


def _quantity(s: Any) -> Quantity:
    try:
        return Quantity(parse_quantity(str(s)), str(s))
    except QuantityError:
        raise CelRuntimeError(f"quantities must match the regular expression: {s!r}") from None


def _functions() -> dict[str, Any]:
    celtypes, _ = _types()

    def boolean(x: bool) -> Any:
        return celtypes.BoolType(x)

    def as_quantity(a: Any) -> Quantity:
        if not isinstance(a, Quantity):
            raise CelRuntimeError(f"no such overload for {type(a).__name__}")
        return a

    def is_quantity(s: Any) -> Any:
        try:
            parse_quantity(str(s))
            return boolean(True)
        except QuantityError:
            return boolean(False)

    def is_semver(s: Any, *_: Any) -> Any:
        return boolean(_SEMVER.match(str(s)) is not None)

    def as_integer(a: Any) -> Any:
        q = as_quantity(a)
        if q.value.denominator != 1:
            raise CelRuntimeError("cannot convert value to integer")
        return _int(int(q.value))

    return {
        "quantity": _quantity,
        "isQuantity": is_quantity,
        "semver": lambda s, *_: parse_semver(str(s)),
        "isSemver": is_semver,
        "compareTo": lambda a, b: _int(_cmp(a, b)),
        "isLessThan": lambda a, b: boolean(_cmp(a, b) < 0),
        "isGreaterThan": lambda a, b: boolean(_cmp(a, b) > 0),
        "add": lambda a, b: Quantity(as_quantity(a).value + (b.value if isinstance(b, Quantity) else Fraction(int(b)))),
        "sub": lambda a, b: Quantity(as_quantity(a).value - (b.value if isinstance(b, Quantity) else Fraction(int(b)))),
        "asInteger": as_integer,
        "asApproximateFloat": lambda a: celtypes.DoubleType(float(as_quantity(a).value)),
        "sign": lambda a: _int((as_quantity(a).value > 0) - (as_quantity(a).value < 0)),
        "isInteger": lambda a: boolean(as_quantity(a).value.denominator == 1),
        "major": lambda v: _int(v.major),
        "minor": lambda v: _int(v.minor),
        "patch": lambda v: _int(v.patch),
        "lowerAscii": lambda s: celtypes.StringType(str(s).lower()),
        "upperAscii": lambda s: celtypes.StringType(str(s).upper()),
        "trim": lambda s: celtypes.StringType(str(s).strip()),
    }


@functools.lru_cache(maxsize=256)
def _program(expression: str) -> Any:
    celpy = _celpy()
    env = celpy.Environment()
    try:
        ast = env.compile(expression)
    except Exception as exc:  # celpy raises its own parse errors; any of them means "cannot judge"
        raise Unevaluable(f"cannot parse {expression!r}: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    return env.program(ast, functions=_functions())


def _attr_value(a: m.DeviceAttribute) -> Any:
    celtypes, _ = _types()
    if a.kind == "int":
        return celtypes.IntType(a.value or 0)
    if a.kind == "bool":
        return celtypes.BoolType(bool(a.value))
    if a.kind == "version":
        return parse_semver(str(a.value))
    return celtypes.StringType(str(a.value))


def split_qualified(name: str, driver: str) -> tuple[str, str]:
    """parseQualifiedName: "domain/id" -> (domain, id); a bare id belongs to the driver's domain."""
    if "/" in name:
        domain, _, ident = name.partition("/")
        return domain, ident
    return driver, name


def device_variable(driver: str, device: m.Device) -> Any:
    celtypes, DefaultMap = _types()
    attrs: dict[Any, dict[Any, Any]] = {}
    for name, a in device.attributes.items():
        domain, ident = split_qualified(name, driver)
        attrs.setdefault(celtypes.StringType(domain), {})[celtypes.StringType(ident)] = _attr_value(a)
    caps: dict[Any, dict[Any, Any]] = {}
    for name, c in device.capacity.items():
        domain, ident = split_qualified(name, driver)
        caps.setdefault(celtypes.StringType(domain), {})[celtypes.StringType(ident)] = _quantity(c.value)
    return celtypes.MapType({
        celtypes.StringType("driver"): celtypes.StringType(driver),
        celtypes.StringType("allowMultipleAllocations"): celtypes.BoolType(device.allow_multiple_allocations),
        celtypes.StringType("attributes"): DefaultMap({k: celtypes.MapType(v) for k, v in attrs.items()}),
        celtypes.StringType("capacity"): DefaultMap({k: celtypes.MapType(v) for k, v in caps.items()}),
    })


def check(expression: str) -> None:
    """Raise Unevaluable when podtriage cannot evaluate this expression at all."""
    _program(expression)


def matches(expression: str, driver: str, device: m.Device) -> bool:
    """Evaluate one selector against one device: True/False, or raise CelRuntimeError/Unevaluable."""
    program = _program(expression)
    celpy = _celpy()
    try:
        result = program.evaluate({"device": device_variable(driver, device)})
    except CelRuntimeError:
        raise
    except celpy.CELEvalError as exc:
        text = str(exc.args[0]) if exc.args else str(exc)
        if "undeclared reference" in text or "no such overload" in text and "function" in text:
            raise Unevaluable(f"{expression!r} uses a function podtriage's CEL evaluator does not provide") from None
        raise CelRuntimeError(_runtime_text(exc)) from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise CelRuntimeError(f"{type(exc).__name__}: {exc}") from None
    if isinstance(result, celpy.CELEvalError):
        raise CelRuntimeError(_runtime_text(result))
    if not isinstance(result, bool) and type(result).__name__ != "BoolType":
        raise CelRuntimeError(f"CEL result of type {type(result).__name__} could not be converted to bool")
    return bool(result)


def _runtime_text(exc: Any) -> str:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    msg = str(args[0]) if args else str(exc)
    if len(args) > 2 and args[2]:
        key = args[2][0] if isinstance(args[2], tuple) and args[2] else args[2]
        return f"{msg}: {key}"
    mt = re.search(r"no such member in mapping: '([^']*)'", msg)
    if mt:
        return f"no such key: {mt.group(1)}"
    return msg

