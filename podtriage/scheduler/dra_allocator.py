"""Structured device allocation: can these ResourceClaims be satisfied on this node?

A model of k8s.io/dynamic-resource-allocation/structured, the "incubating" allocator that
kube-scheduler v1.37 picks for its default features (admin access, prioritized lists
(firstAvailable), partitionable devices (shared counters), device taints, binding conditions,
consumable capacity). Semantics, order and error texts follow upstream so the first error it meets
is the scheduler's; the code is ours.

- `gather_pools`: the node's slices (spec.nodeName = node, or node-independent slices whose
  nodeName/allNodes/nodeSelector/per-device selection admits it), grouped into pools by
  (driver, pool), newest generation only; a pool with fewer slices than resourceSliceCount is
  incomplete, duplicate device names or bad counter references make it invalid. Pools are sorted by
  driver and name, those with binding conditions last; slices by name.
- `allocate`: claims in order, requests in order, devices in pool/slice/device order; exhaustive
  search with backtracking over combinations (never permutations); the first full solution wins.
  A device is usable when it is not allocated to another claim (or allows multiple allocations
  and has capacity left), matches its class's and the request's CEL selectors, is available on the
  node (per-device node selection), has its shared counters left, carries no NoSchedule/NoExecute
  taint the request does not tolerate, and keeps every constraint (matchAttribute,
  distinctAttribute) satisfiable.

Result: `Allocation.ok` or not; `error` is set where upstream returns an error (CEL runtime error,
"asks for all devices, but resource pool ... is currently being updated", ...), which aborts the
scheduling attempt instead of rejecting a node; `unevaluable` where podtriage's CEL evaluator cannot
judge a selector (never reported as a fit).

Not modelled: DeviceTaintRules (taints added by rules, not read), binding-condition timeouts of
already allocated claims, allocations in flight inside the scheduler (Reserve before PreBind).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .. import model as m
from ..quantity import QuantityError, parse_quantity
from . import dra_cel
from .selectors import node_selector_matches, tolerates

RESULTS_MAX = 32  # resourceapi.AllocationResultsMaxSize
DeviceID = tuple[str, str, str]  # (driver, pool, device)


class AllocationError(Exception):
    """Upstream returns an error here: the scheduling attempt fails with it."""


class _Unevaluable(Exception):
    pass


class _MaxSizeExceeded(Exception):
    pass


def _q(text: str) -> Fraction:
    try:
        return parse_quantity(text)
    except QuantityError:
        return Fraction(0)


# --- the state of the cluster ---------------------------------------------------------------------

@dataclass
class AllocatedState:
    devices: set[DeviceID] = field(default_factory=set)  # dedicated, non-admin allocations
    shared: set[tuple[DeviceID, str]] = field(default_factory=set)  # (device, share id)
    capacity: dict[DeviceID, dict[str, Fraction]] = field(default_factory=dict)  # consumed by shares
    owners: dict[DeviceID, list[str]] = field(default_factory=dict)  # device -> claims holding it

    @classmethod
    def of(cls, claims: Iterable[m.ResourceClaim]) -> AllocatedState:
        st = cls()
        for c in claims:
            if not c.allocated:
                continue
            for r in c.results:
                if r.admin_access:
                    continue
                dev = (r.driver, r.pool, r.device)
                st.owners.setdefault(dev, []).append(c.key)
                if r.share_id:
                    st.shared.add((dev, r.share_id))
                    if r.consumed_capacity:
                        cap = st.capacity.setdefault(dev, {})
                        for k, v in r.consumed_capacity.items():
                            cap[k] = cap.get(k, Fraction(0)) + _q(v)
                    continue
                st.devices.add(dev)
        return st

    def capacity_in_use(self, dev: DeviceID) -> bool:
        return dev in self.capacity or any(d == dev for d, _ in self.shared)


# --- pools --------------------------------------------------------------------------------------

@dataclass
class Pool:
    driver: str
    name: str
    incomplete: bool = False
    invalid: str = ""  # why the pool is invalid ("" = valid)
    slices: list[m.ResourceSlice] = field(default_factory=list)  # device slices for the node, by name
    other_slices: list[m.ResourceSlice] = field(default_factory=list)  # the pool's slices not for the node
    counter_sets: dict[str, dict[str, Fraction]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.driver}/{self.name}"

    @property
    def has_binding_conditions(self) -> bool:
        return any(d.binding_conditions for s in self.slices for d in s.devices)


def device_available_on(node: m.Node, node_name: str, all_nodes: bool,
                        selector: Sequence[m.NodeSelectorTerm] | None) -> bool:
    """NodeMatches."""
    if node_name:
        return node.name == node_name
    if all_nodes:
        return True
    if selector is not None:
        return node_selector_matches(selector, node.labels, node.name)
    return False


def gather_pools(node: m.Node, slices: Sequence[m.ResourceSlice]) -> list[Pool]:
    candidates = [s for s in slices if s.node_name == node.name or not s.node_name]
    by_pool: dict[tuple[str, str], list[m.ResourceSlice]] = {}
    for s in candidates:
        if s.node_name or s.all_nodes or s.node_selector is not None:
            relevant = device_available_on(node, s.node_name, s.all_nodes, s.node_selector)
        elif s.per_device_node_selection:
            relevant = any(device_available_on(node, d.node_name, d.all_nodes, d.node_selector) for d in s.devices)
        else:
            continue
        if not relevant:
            continue
        key = (s.driver, s.pool)
        have = by_pool.get(key)
        if have is None or s.generation > have[0].generation:
            by_pool[key] = [s]
        elif s.generation == have[0].generation:
            have.append(s)
    out: list[Pool] = []
    late: list[Pool] = []
    for (driver, name), pool_slices in by_pool.items():
        gen = pool_slices[0].generation
        want = pool_slices[0].slice_count
        all_for_pool: list[m.ResourceSlice] | None = None
        if len(pool_slices) != want:
            same = [s for s in slices if s.driver == driver and s.pool == name]
            if any(s.generation > gen for s in same):
                continue  # obsolete: a newer generation is being published
            all_for_pool = [s for s in same if s.generation == gen]
            if len(all_for_pool) != want:
                out.append(Pool(driver=driver, name=name, incomplete=True))
                continue
        pool = _build_pool(driver, name, pool_slices, all_for_pool)
        (late if pool.has_binding_conditions else out).append(pool)
    out.sort(key=lambda p: (p.driver, p.name))
    late.sort(key=lambda p: (p.driver, p.name))
    return out + late


def _build_pool(driver: str, name: str, slices: list[m.ResourceSlice],
                all_for_pool: list[m.ResourceSlice] | None) -> Pool:
    slices = sorted(slices, key=lambda s: s.name)
    device_slices = [s for s in slices if not s.shared_counters]
    counter_slices = [s for s in slices if s.shared_counters]
    other: list[m.ResourceSlice] = []
    if all_for_pool is not None and len(slices) < len(all_for_pool):
        names = {s.name for s in slices}
        for s in all_for_pool:
            if s.name not in names:
                (counter_slices if s.shared_counters else other).append(s)
    pool = Pool(driver=driver, name=name, slices=device_slices, other_slices=other)
    seen: set[str] = set()
    for s in device_slices:
        for d in s.devices:
            if d.name in seen:
                pool.invalid = f"duplicate device name {d.name}"
                return pool
            seen.add(d.name)
    for s in counter_slices:
        for cs_name, counters in s.shared_counters:
            if cs_name in pool.counter_sets:
                pool.invalid = f"duplicate counter set name {cs_name}"
                return pool
            pool.counter_sets[cs_name] = {k: _q(v) for k, v in counters.items()}
    for s in device_slices + other:
        for d in s.devices:
            for cs_name, counters in d.consumes_counters:
                if cs_name not in pool.counter_sets:
                    pool.invalid = f"counter set {cs_name} not found"
                    return pool
                for c in counters:
                    if c not in pool.counter_sets[cs_name]:
                        pool.invalid = f"counter {c} not found in counter set {cs_name}"
                        return pool
    return pool


# --- requests -----------------------------------------------------------------------------------

@dataclass
class Req:
    """One request or one firstAvailable alternative of one claim, with what it resolved to."""

    claim_index: int
    request: str  # the request's name
    sub: str  # the subrequest's name ("" for an exact request)
    spec: m.DeviceSubRequest
    device_class: m.DeviceClass | None = None
    num_devices: int = 0
    all_devices: list[tuple[Pool, m.ResourceSlice, m.Device]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.request}/{self.sub}" if self.sub else self.request


def blocking_taints(device: m.Device, tolerations: Sequence[m.DeviceToleration]) -> list[m.DeviceTaint]:
    return [t for t in device.taints if t.effect in ("NoSchedule", "NoExecute")
            and not any(tolerates(tol, t) for tol in tolerations)]


def lookup_attribute(device: m.Device, driver: str, qualified: str) -> m.DeviceAttribute | None:
    a = device.attributes.get(qualified)
    if a is not None:
        return a
    domain, _, ident = qualified.partition("/")
    if not ident or domain != driver:
        return None
    return device.attributes.get(ident)


def consumed_capacity(requests: Mapping[str, str], capacity: Mapping[str, m.DeviceCapacity]) -> dict[str, Fraction]:
    """calculateConsumedCapacity for every capacity of a device."""
    out: dict[str, Fraction] = {}
    for name, cap in capacity.items():
        req = requests.get(name)
        pol = cap.policy
        if req is None:
            out[name] = _q(pol.default) if pol is not None and pol.default else _q(cap.value)
            continue
        want = _q(req)
        if pol is None:
            out[name] = want
        elif pol.has_range and pol.min:
            lo = _q(pol.min)
            if want < lo:
                out[name] = lo
            elif pol.step:
                step = _q(pol.step)
                n = -((lo - want) // step)  # ceil((want - lo) / step)
                out[name] = lo + step * n
            else:
                out[name] = want
        elif pol.valid_values:
            out[name] = next((_q(v) for v in pol.valid_values if want <= _q(v)), want)
        else:
            out[name] = want
    return out


def _violates_policy(value: Fraction, pol: m.CapacityPolicy | None) -> bool:
    if pol is None:
        return False
    if pol.default and value == _q(pol.default):
        return False
    if pol.has_range:
        if pol.max and value > _q(pol.max):
            return True
        if pol.step and pol.min and (value - _q(pol.min)) % _q(pol.step) != 0:
            return True
        return False
    if pol.valid_values:
        return all(value != _q(v) for v in pol.valid_values)
    return False


def capacity_fits(requests: Mapping[str, str], device: m.Device, already: Mapping[str, Fraction],
                  allocating: Mapping[str, Fraction]) -> bool:
    """CmpRequestOverCapacity."""
    if any(name not in device.capacity for name in requests):
        return False
    want = consumed_capacity(requests, device.capacity)
    for name, cap in device.capacity.items():
        v = want[name]
        if _violates_policy(v, cap.policy):
            return False
        total = already.get(name, Fraction(0)) + v + allocating.get(name, Fraction(0))
        if total > _q(cap.value):
            return False
    return True


# --- the search -----------------------------------------------------------------------------------

@dataclass
class Allocation:
    ok: bool
    error: str = ""  # upstream returns an error (the attempt fails with it)
    unschedulable: str = ""  # upstream's Unschedulable text other than "cannot allocate all claims"
    unevaluable: str = ""  # podtriage cannot judge a selector
    devices: list[tuple[int, str, DeviceID]] = field(default_factory=list)  # (claim, request, device)


class _Constraint:
    def __init__(self, c: m.DeviceConstraint) -> None:
        self.requests = set(c.requests)
        self.attr = c.match_attribute or c.distinct_attribute
        self.match = bool(c.match_attribute)
        self.values: list[m.DeviceAttribute] = []

    def applies(self, request: str, sub: str) -> bool:
        if not self.requests:
            return True
        return request in self.requests or (bool(sub) and f"{request}/{sub}" in self.requests)

    def add(self, request: str, sub: str, device: m.Device, driver: str) -> bool:
        if not self.applies(request, sub):
            return True
        a = lookup_attribute(device, driver, self.attr)
        if a is None:
            return False
        if self.match:
            if self.values and (self.values[0].kind != a.kind or self.values[0].value != a.value):
                return False
        elif any(v.kind == a.kind and v.value == a.value for v in self.values):
            return False
        self.values.append(a)
        return True

    def remove(self, request: str, sub: str) -> None:
        if self.applies(request, sub):
            self.values.pop()


class Allocator:
    """One node's allocation attempt for the pod's claims (a new instance per node)."""

    def __init__(self, node: m.Node, slices: Sequence[m.ResourceSlice], classes: Mapping[str, m.DeviceClass],
                 state: AllocatedState) -> None:
        self.node = node
        self.all_slices = slices
        self.classes = classes
        self.state = state
        self.pools = gather_pools(node, slices)
        self.match_cache: dict[tuple[DeviceID, int, str, str], bool] = {}
        self.allocating: dict[DeviceID, set[int]] = {}
        self.allocating_capacity: dict[DeviceID, dict[str, Fraction]] = {}
        self.counters_available: dict[str, dict[str, dict[str, Fraction]]] = {}
        self.counters_consumed: dict[str, dict[str, dict[str, Fraction]]] = {}
        self.result: list[list[tuple[str, DeviceID]]] = []

    # ---- entry -------------------------------------------------------------------------------
    def allocate(self, claims: Sequence[tuple[Sequence[m.DeviceRequest], Sequence[m.DeviceConstraint]]]) -> Allocation:
        self.claims = claims
        self.result = [[] for _ in claims]
        self.reqs: dict[tuple[int, int, int], Req] = {}
        self.selected_sub: dict[tuple[int, int], int] = {}
        self.constraints: list[list[_Constraint]] = []
        try:
            for ci, (requests, constraints) in enumerate(claims):
                for ri, r in enumerate(requests):
                    subs = list(r.first_available) if r.first_available else ([r.exactly] if r.exactly else [])
                    for si, sub in enumerate(subs):
                        self.reqs[(ci, ri, si)] = self._validate(ci, r.name, sub.name if r.first_available else "", sub)
                self.constraints.append([_Constraint(c) for c in constraints])
            done = self._one(0, 0, 0, 0, False, (0, 0, 0))
        except AllocationError as exc:
            return Allocation(ok=False, error=str(exc))
        except _Unevaluable as exc:
            return Allocation(ok=False, unevaluable=str(exc))
        except _MaxSizeExceeded:
            done = False
        if not done:
            if any(p.invalid for p in self.pools):
                return Allocation(ok=False, unschedulable="invalid resource pools were encountered")
            return Allocation(ok=False)
        devices = [(ci, name, dev) for ci, res in enumerate(self.result) for name, dev in res]
        return Allocation(ok=True, devices=devices)

    def _validate(self, ci: int, request: str, sub: str, spec: m.DeviceSubRequest) -> Req:
        rd = Req(claim_index=ci, request=request, sub=sub, spec=spec)
        name = rd.name
        cls = self.classes.get(spec.device_class)
        if cls is None:
            raise AllocationError(f"claim {ci}, request {name}: could not retrieve device class {spec.device_class}")
        rd.device_class = cls
        if spec.allocation_mode == "All":
            for pool in self.pools:
                if pool.incomplete:
                    raise AllocationError(f"request {name}: asks for all devices, but resource pool {pool.id} is "
                                          "currently being updated")
                if pool.invalid:
                    raise AllocationError(f"request {name}: asks for all devices, but resource pool {pool.id} is "
                                          "currently invalid")
                for s in pool.slices:
                    for d in s.devices:
                        if self._selectable(rd, s, d) and capacity_fits(spec.capacity_requests, d, {}, {}):
                            rd.all_devices.append((pool, s, d))
            rd.num_devices = len(rd.all_devices)
        else:
            rd.num_devices = spec.count
        return rd

    # ---- device checks -----------------------------------------------------------------------
    def _selectable(self, rd: Req, s: m.ResourceSlice, d: m.Device) -> bool:
        key = ((s.driver, s.pool, d.name), rd.claim_index, rd.request, rd.sub)
        hit = self.match_cache.get(key)
        if hit is not None:
            return hit
        ok = True
        for what, selectors in (("class", rd.device_class.selectors if rd.device_class else ()),
                                ("claim", rd.spec.selectors)):
            for i, expr in enumerate(selectors):
                try:
                    if not dra_cel.matches(expr, s.driver, d):
                        ok = False
                        break
                except dra_cel.CelRuntimeError as exc:
                    owner = f"class {rd.device_class.name}" if what == "class" and rd.device_class else "claim"
                    raise AllocationError(f"{owner}: selector #{i} on device {s.driver}/{s.pool}/{d.name}: "
                                          f"CEL runtime error: {exc}") from None
                except dra_cel.Unevaluable as exc:
                    raise _Unevaluable(str(exc)) from None
            if not ok:
                break
        if ok and s.per_device_node_selection:
            ok = device_available_on(self.node, d.node_name, d.all_nodes, d.node_selector)
        self.match_cache[key] = ok
        return ok

    def _in_use(self, dev: DeviceID) -> bool:
        return dev in self.state.devices or bool(self.allocating.get(dev))

    def _capacity_ok(self, rd: Req, dev: DeviceID, d: m.Device) -> bool:
        return capacity_fits(rd.spec.capacity_requests, d, self.state.capacity.get(dev, {}),
                             self.allocating_capacity.get(dev, {}))

    def _pool_counters(self, pool: Pool) -> dict[str, dict[str, Fraction]]:
        avail = self.counters_available.get(pool.id)
        if avail is None:
            avail = {cs: dict(c) for cs, c in pool.counter_sets.items()}
            for s in pool.slices + pool.other_slices:
                for d in s.devices:
                    if (pool.driver, pool.name, d.name) not in self.state.devices:
                        continue
                    for cs, counters in d.consumes_counters:
                        for c, v in counters.items():
                            if c in avail.get(cs, {}):
                                avail[cs][c] -= _q(v)
            self.counters_available[pool.id] = avail
        return avail

    def _take_counters(self, pool: Pool, d: m.Device) -> bool:
        avail = self._pool_counters(pool)
        used = self.counters_consumed.setdefault(pool.id, {})
        for cs, consumes in d.consumes_counters:
            u = used.setdefault(cs, {})
            for c, q in consumes.items():
                u[c] = u.get(c, Fraction(0)) + _q(q)
        for cs, counters in avail.items():
            for c, left in counters.items():
                if left < used.get(cs, {}).get(c, Fraction(0)):
                    self._give_counters(pool, d)
                    return False
        return True

    def _give_counters(self, pool: Pool, d: m.Device) -> None:
        used = self.counters_consumed[pool.id]
        for cs, counters in d.consumes_counters:
            for c, v in counters.items():
                used[cs][c] -= _q(v)

    def _allocate_device(self, ci: int, rd: Req, pool: Pool, s: m.ResourceSlice, d: m.Device,
                         must: bool) -> Any:
        """allocateDevice: the undo function when the device was taken, None when it cannot be."""
        dev = (s.driver, s.pool, d.name)
        multi = d.allow_multiple_allocations
        admin = rd.spec.admin_access
        if not multi and admin and ci in self.allocating.get(dev, set()):
            return None
        if not admin and self._in_use(dev):
            return None
        skip_counters = multi and (self.state.capacity_in_use(dev) or dev in self.allocating_capacity)
        took_counters = False
        if not skip_counters and d.consumes_counters:
            if not self._take_counters(pool, d):
                return None
            took_counters = True
        undo: list[Any] = []
        if took_counters:
            undo.append(lambda: self._give_counters(pool, d))

        def rollback() -> None:
            for f in reversed(undo):
                f()

        if blocking_taints(d, rd.spec.tolerations):
            rollback()
            return None
        for c in self.constraints[ci]:
            if not c.add(rd.request, rd.sub, d, s.driver):
                rollback()
                if must:
                    raise AllocationError(f"request {rd.name}: cannot add device {s.driver}/{s.pool}/{d.name} "
                                          "because a claim constraint would not be satisfied")
                return None
            undo.append(lambda c=c: c.remove(rd.request, rd.sub))
        if not multi:
            self.allocating.setdefault(dev, set()).add(ci)
            undo.append(lambda: self.allocating[dev].discard(ci))
        if not self._capacity_ok(rd, dev, d):
            rollback()
            return None
        if multi:
            use = consumed_capacity(rd.spec.capacity_requests, d.capacity)
            existed = dev in self.allocating_capacity
            cur = self.allocating_capacity.setdefault(dev, {})
            for k, v in use.items():
                cur[k] = cur.get(k, Fraction(0)) + v

            def give_back(use: dict[str, Fraction] = use, existed: bool = existed) -> None:
                cur2 = self.allocating_capacity[dev]
                for k, v in use.items():
                    cur2[k] -= v
                if not existed and all(v == 0 for v in cur2.values()):
                    del self.allocating_capacity[dev]
            undo.append(give_back)
        self.result[ci].append((rd.name, dev))
        undo.append(lambda: self.result[ci].pop())
        return rollback

    # ---- recursion ---------------------------------------------------------------------------
    def _one(self, ci: int, ri: int, si: int, di: int, in_sub: bool, start: tuple[int, int, int]) -> bool:
        if ci >= len(self.claims):
            return True
        requests = self.claims[ci][0]
        if ri >= len(requests):
            try:
                return self._one(ci + 1, 0, 0, 0, False, (0, 0, 0))
            except _MaxSizeExceeded:
                return False
        rd = self.reqs.get((ci, ri, si))
        if rd is None:  # a request without a usable shape (the API forbids it)
            return False
        if not in_sub and requests[ri].first_available:
            all_exceeded = True
            sub = 0
            while (ci, ri, sub) in self.reqs:
                try:
                    ok = self._one(ci, ri, sub, di, True, (0, 0, 0))
                except _MaxSizeExceeded:
                    sub += 1
                    continue
                all_exceeded = False
                if ok:
                    self.selected_sub[(ci, ri)] = sub
                    return True
                sub += 1
            if all_exceeded:
                raise _MaxSizeExceeded()
            return False
        if rd.spec.allocation_mode == "All" and not rd.all_devices:
            return False
        if di >= rd.num_devices:
            return self._one(ci, ri + 1, 0, 0, False, (0, 0, 0))
        if rd.num_devices - di > RESULTS_MAX - len(self.result[ci]):
            raise _MaxSizeExceeded()
        if rd.spec.allocation_mode == "All":
            pool, s, d = rd.all_devices[di]
            undo = self._allocate_device(ci, rd, pool, s, d, True)
            if undo is None:
                return False
            try:
                done = self._one(ci, ri, si, di + 1, in_sub, (0, 0, 0))
            except BaseException:
                undo()
                raise
            if not done:
                undo()
            return done
        p0, s0, d0 = start
        for pi in range(p0, len(self.pools)):
            pool = self.pools[pi]
            if pool.incomplete or pool.invalid:
                continue
            for sj in range(s0 if pi == p0 else 0, len(pool.slices)):
                s = pool.slices[sj]
                for dj in range(d0 if (pi == p0 and sj == s0) else 0, len(s.devices)):
                    d = s.devices[dj]
                    dev = (s.driver, s.pool, d.name)
                    if rd.spec.admin_access and ci in self.allocating.get(dev, set()):
                        continue
                    if not rd.spec.admin_access and self._in_use(dev):
                        continue
                    if not self._selectable(rd, s, d):
                        continue
                    if not self._capacity_ok(rd, dev, d):
                        continue
                    undo = self._allocate_device(ci, rd, pool, s, d, False)
                    if undo is None:
                        continue
                    try:
                        done = self._one(ci, ri, si, di + 1, in_sub, (pi, sj, dj + 1))
                    except BaseException:
                        undo()
                        raise
                    if done:
                        return True
                    undo()
        return False
