"""podtriage.evidence.messages against the reference texts in fixtures/messages/."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest
import yaml

from podtriage.evidence.messages import (
    CODES,
    FORMAT_125_127,
    FORMAT_128,
    FORMAT_NOKEY_TAINT,
    FORMAT_PRE_125,
    FORMAT_UNKNOWN,
    FitMessage,
    parse_admission_failure,
    parse_fit_message,
    parse_nominated,
    parse_not_trigger_scale_up,
    parse_preempted,
    parse_triggered_scale_up,
    reason_code,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "messages"
REFERENCE = Path(__file__).resolve().parents[3] / "shared/reference/k8s_messages.json"


def _load(name: str) -> dict:
    return yaml.safe_load((FIXTURES / name).read_text())


FIT = _load("fit_errors.yaml")
CA = _load("autoscaler.yaml")["autoscaler"]
ADM = _load("admission.yaml")["admission"]


def _text(entry_id: str) -> str:
    return next(e["text"] for e in FIT["fit_errors"] if e["id"] == entry_id)


def _parse(text: str) -> FitMessage:
    msg = parse_fit_message(text)
    assert msg is not None, text
    return msg


# --- every fixture message ---------------------------------------------------------------------
@pytest.mark.parametrize("entry", FIT["fit_errors"], ids=[e["id"] for e in FIT["fit_errors"]])
def test_fit_error_fixture(entry: dict) -> None:
    msg = _parse(entry["text"])
    exp = entry["expect"]
    assert msg.raw == entry["text"]
    if "total_nodes" in exp:
        assert msg.total_nodes == exp["total_nodes"]
    if "reasons" in exp:
        assert [[r.count, r.code] for r in msg.reasons] == exp["reasons"]
    if "details" in exp:
        assert [r.details for r in msg.reasons] == exp["details"]
    if "counts" in exp:
        assert msg.node_counts() == exp["counts"]
    if "prefilter" in exp:
        assert (msg.prefilter.code if msg.prefilter else None) == exp["prefilter"]
        if msg.prefilter:
            assert msg.prefilter.count is None
    if "prefilter_details" in exp:
        assert msg.prefilter is not None and msg.prefilter.details == exp["prefilter_details"]
    if "format_version" in exp:
        assert msg.format_version == exp["format_version"]
    if "preemption_counts" in exp:
        if exp["preemption_counts"] is None:
            assert msg.preemption is None
        else:
            assert msg.preemption is not None
            assert msg.preemption.node_counts() == exp["preemption_counts"]
    if "not_eligible" in exp:
        assert msg.preemption_not_eligible == exp["not_eligible"]
    if "dra_note" in exp:
        assert msg.dra_note == exp["dra_note"]
    if "truncated" in exp:
        assert msg.truncated is exp["truncated"]
    if "postfilter" in exp:
        assert msg.postfilter == exp["postfilter"]
    for r in msg.all_reasons:
        assert r.code in CODES


@pytest.mark.parametrize("frag", FIT["histogram_fragments"],
                         ids=[f["ref"] for f in FIT["histogram_fragments"]])
def test_histogram_fragment(frag: dict) -> None:
    """Reference examples that are histogram fragments, wrapped in the documented FitError layout."""
    total = sum(c for c, _, _ in frag["expect"])
    msg = _parse(f"0/{total} nodes are available: {frag['text']}.")
    assert [[r.count, r.code, r.details] for r in msg.reasons] == frag["expect"]
    assert ", ".join(f"{r.count} {r.reason}" for r in msg.reasons) == frag["text"]


@pytest.mark.parametrize("tpl", FIT["reason_templates"], ids=[t["text"] for t in FIT["reason_templates"]])
def test_reason_template_code(tpl: dict) -> None:
    assert reason_code(tpl["text"])[0] == tpl["code"]


def test_every_code_is_exercised() -> None:
    seen = {t["code"] for t in FIT["reason_templates"]}
    assert set(CODES) - seen == {"other"}


@pytest.mark.parametrize("text", FIT["not_fit_errors"])
def test_not_a_fit_error(text: str) -> None:
    assert parse_fit_message(text) is None


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared reference not present")
def test_fixtures_cover_every_reference_fit_error() -> None:
    """Every reference example that holds a FitError is in the fixtures (and parses)."""
    ref = json.loads(REFERENCE.read_text())
    found: list[str] = []

    def walk(o: object) -> None:
        if isinstance(o, dict):
            for k, v in o.items():
                if k.startswith("example") and isinstance(v, str) and "nodes are available" in v:
                    found.append(v)
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(ref)
    ours = {e["text"] for e in FIT["fit_errors"]}
    assert found and not [t for t in found if t not in ours]
    for t in found:
        assert parse_fit_message(t) is not None


# --- layout rules ----------------------------------------------------------------------------------
def test_histogram_order_is_kept_as_printed_not_numeric() -> None:
    msg = _parse(_text("constructed/lexicographic"))
    assert [r.count for r in msg.reasons] == [1, 10, 2]
    assert msg.node_counts() == {"node-unschedulable": 1, "insufficient": 10, "node-affinity": 2}


def test_counts_can_exceed_total_nodes() -> None:
    msg = _parse(_text("constructed/multi-insufficient"))
    assert msg.total_nodes == 3
    assert sum(msg.node_counts().values()) == 6
    assert [r.details["resource"] for r in msg.reasons] == ["cpu", "memory"]


def test_double_period_vs_single() -> None:
    old = _parse(_text("sched.fiterror.format/example_1_25_to_1_27"))
    new = _parse(_text("sched.fiterror.format/example"))
    assert old.format_version == FORMAT_125_127
    assert new.format_version == FORMAT_128
    # The nested message of the old layout loses the extra period and parses cleanly.
    assert old.preemption is not None
    assert old.preemption.reasons[0].reason == "Preemption is not helpful for scheduling"
    assert old.preemption.format_version == FORMAT_125_127
    never_old = _parse(_text("constructed/never-1.25-1.27"))
    assert never_old.preemption_not_eligible == "preemptionPolicy=Never"
    assert never_old.format_version == FORMAT_125_127


def test_format_unknown_without_postfilter() -> None:
    assert _parse(_text("sched.fiterror.histogram/example")).format_version == FORMAT_UNKNOWN


def test_taint_empty_value_and_slash_key() -> None:
    msg = _parse(_text("sched.fiterror.format/example"))
    taint = msg.reasons_for("taint")[0]
    assert taint.reason == "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
    assert taint.details == {"taint_key": "node-role.kubernetes.io/control-plane", "taint_value": ""}
    two = _parse(_text("constructed/two-taints-slash-key"))
    assert two.node_counts() == {"taint": 5}
    assert two.reasons[0].details == {"taint_key": "nvidia.com/gpu", "taint_value": "present"}


def test_comma_inside_taint_braces_does_not_split() -> None:
    msg = _parse(_text("constructed/taint-value-with-comma"))
    assert len(msg.reasons) == 2
    assert msg.reasons[0].reason == "node(s) had untolerated taint {example.com/note: a, 3 b}"
    assert msg.reasons[0].details["taint_value"] == "a, 3 b"


def test_untolerated_taints_without_keys() -> None:
    msg = _parse(_text("sched.taint.untolerated_nokey/example"))
    assert msg.format_version == FORMAT_NOKEY_TAINT
    assert msg.reasons[0].code == "taint" and msg.reasons[0].details == {}


def test_pre_125_taint_wording() -> None:
    msg = _parse(_text("constructed/pre-1.25-taint"))
    assert msg.format_version == FORMAT_PRE_125
    assert msg.reasons[0].reason == (
        "node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate")


@pytest.mark.parametrize("text,wording", [
    ("node(s) had volume node affinity conflict", "pre-1.33"),
    ("node(s) didn't match PersistentVolume's node affinity", "1.33+"),
])
def test_volume_node_affinity_both_wordings(text: str, wording: str) -> None:
    assert reason_code(text) == ("volume-node-affinity", {"wording": wording})


def test_preemption_nested_message() -> None:
    msg = _parse(_text("sched.fiterror.absent_nodes/example"))
    assert msg.postfilter.startswith("preemption: 0/46 nodes are available: ")
    assert msg.preemption is not None
    assert msg.preemption.total_nodes == 46
    assert [(r.count, r.code) for r in msg.preemption.reasons] == [
        (1, "no-preemption-victims"), (45, "preemption-not-helpful")]
    assert msg.preemption.preemption is None and msg.preemption_not_eligible == ""


def test_preemption_policy_never() -> None:
    msg = _parse(_text("sched.preempt.never/example"))
    assert msg.preemption is None
    assert msg.preemption_not_eligible == "preemptionPolicy=Never"
    assert msg.postfilter == "preemption: not eligible due to preemptionPolicy=Never."


def test_dra_note_before_preemption() -> None:
    msg = _parse(_text("sched.dra.postfilter/example"))
    assert msg.dra_note == "no new claims to deallocate"
    assert msg.preemption is not None and msg.preemption.node_counts() == {"preemption-not-helpful": 6}


def test_dra_state_not_found_artifact() -> None:
    msg = _parse("0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found")
    assert msg.prefilter is not None and msg.prefilter.code == "volume-unbound-immediate"
    assert msg.reasons == ()
    assert msg.dra_note == "not found" and msg.preemption is None


def test_truncated_inside_histogram() -> None:
    text = (FIXTURES / "truncated-event.txt").read_text().rstrip("\n")
    full = (FIXTURES / "truncated-condition.txt").read_text().rstrip("\n")
    assert len(text) == 1024 and text.endswith(" ...") and full.startswith(text[:-4])
    msg = _parse(text)
    assert msg.truncated
    assert msg.total_nodes == 32
    # Only complete items: pool-01 .. pool-14; the partial "{team.example.com/pool-1" is dropped.
    assert msg.node_counts() == {"taint": 14}
    assert msg.reasons[-1].details["taint_key"] == "team.example.com/pool-14"
    whole = _parse(full)
    assert not whole.truncated
    assert whole.node_counts() == {"taint": 30, "insufficient": 2}
    assert whole.preemption is not None and whole.preemption.node_counts() == {
        "no-preemption-victims": 2, "preemption-not-helpful": 30}


def test_truncated_inside_preemption() -> None:
    msg = _parse(_text("constructed/truncated-in-preemption"))
    assert msg.truncated and msg.preemption is not None and msg.preemption.truncated
    assert msg.node_counts() == {"taint": 13, "insufficient": 2}
    assert msg.preemption.node_counts() == {"no-preemption-victims": 2}


def test_prefilter_messages() -> None:
    msg = _parse(_text("sched.vb.pvc_not_found/example"))
    assert msg.prefilter is not None
    assert msg.prefilter.reason == 'persistentvolumeclaim "data-web-0" not found'
    assert msg.prefilter.details == {"claim": "data-web-0"}
    assert msg.node_counts() == {"pvc-not-found": 3}
    assert msg.node_counts(include_prefilter=False) == {}
    assert msg.codes() == ("pvc-not-found",)
    unbound = _parse(_text("sched.vb.unbound_immediate/example"))
    assert unbound.prefilter is not None and unbound.prefilter.count is None
    assert unbound.all_reasons == (unbound.prefilter,)


def test_prefilter_printed_twice_is_counted_once() -> None:
    """Constructed: the reference leaves open whether v1.25.0 also printed the PreFilter reason per node."""
    msg = _parse("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
                 "3 pod has unbound immediate PersistentVolumeClaims. "
                 "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..")
    assert msg.prefilter is not None and [(r.count, r.code) for r in msg.reasons] == [
        (3, "volume-unbound-immediate")]
    assert msg.node_counts() == {"volume-unbound-immediate": 3}
    assert msg.format_version == FORMAT_125_127


def test_empty_parts() -> None:
    for text in ("0/3 nodes are available:", "0/3 nodes are available: ."):
        msg = _parse(text)
        assert msg.total_nodes == 3 and msg.prefilter is None and msg.reasons == () and msg.postfilter == ""


def test_absent_nodes() -> None:
    msg = _parse(_text("sched.fiterror.absent_nodes/example"))
    absent = msg.reasons_for("absent-nodes")[0]
    assert absent.count == 45 and absent.details == {"plugins": ["NodeAffinity"]}
    old = _parse(_text("constructed/old-absent"))
    assert old.reasons_for("absent-nodes")[0].details == {"plugins": []}


def test_prefilter_conflict_plugins() -> None:
    msg = _parse(_text("sched.prefilter.result_conflict/example"))
    assert msg.prefilter is not None
    assert msg.prefilter.details == {"plugins": ["NodeAffinity", "VolumeBinding"]}


def test_no_nodes() -> None:
    msg = _parse("no nodes available to schedule pods")
    assert msg.total_nodes == 0 and msg.prefilter is not None and msg.prefilter.code == "no-nodes"
    assert not msg.is_fit_error


def test_karpenter_and_errors_are_other() -> None:
    k = _parse(_text("karpenter.failedscheduling/example"))
    assert k.total_nodes is None and k.reasons[0].code == "other"
    assert k.reasons[0].details == {"scheduler": "karpenter"}
    assert not k.is_fit_error
    err = _parse(_text("sched.prefilter.error/example"))
    assert err.reasons[0].details["plugin"] == "VolumeBinding"


def test_log_line_and_describe_row() -> None:
    log = _parse(_text("sched.log.nofit/example"))
    assert log.postfilter.endswith("incoming pod.")  # the closing quote of err="..." is gone
    row = _parse(_text("sched.event.failedscheduling/example"))
    assert row.node_counts() == {"insufficient": 3}


def test_unknown_reason_is_other() -> None:
    msg = _parse("0/2 nodes are available: 2 node(s) failed the acme.io/GpuHealth check.")
    assert msg.reasons[0].code == "other" and msg.reasons[0].count == 2


def test_results_are_frozen_and_hashable() -> None:
    msg = _parse(_text("sched.fiterror.format/example"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.total_nodes = 4  # type: ignore[misc]
    assert hash(msg) == hash(_parse(_text("sched.fiterror.format/example")))


def test_never_raises_on_prefixes_and_noise() -> None:
    texts = [e["text"] for e in FIT["fit_errors"]] + [a["text"] for a in ADM] + [c["text"] for c in CA]
    rnd = random.Random(7)
    alphabet = "0123456789/ {}[]():,.\"'nodesareavilb"
    noise = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 80))) for _ in range(300)]
    for t in texts + noise + [None, 42]:  # type: ignore[list-item]
        cuts = range(len(t) + 1) if isinstance(t, str) else [None]
        for n in cuts:
            s = t[:n] if n is not None else t
            parse_fit_message(s)  # type: ignore[arg-type]
            parse_not_trigger_scale_up(s)  # type: ignore[arg-type]
            parse_triggered_scale_up(s)  # type: ignore[arg-type]
            parse_admission_failure(s)  # type: ignore[arg-type]
            parse_preempted(s)  # type: ignore[arg-type]


# --- cluster-autoscaler --------------------------------------------------------------------------
@pytest.mark.parametrize("entry", CA, ids=[c["id"] for c in CA])
def test_autoscaler_fixture(entry: dict) -> None:
    exp = entry["expect"]
    if exp["kind"] == "not-triggered":
        msg = parse_not_trigger_scale_up(entry["text"])
        assert msg is not None
        assert [[r.count, r.code] for r in msg.reasons] == exp["reasons"]
        assert msg.legacy_format is exp["legacy"]
        assert parse_triggered_scale_up(entry["text"]) is None
    else:
        up = parse_triggered_scale_up(entry["text"])
        assert up is not None
        assert [[g.group, g.current_size, g.new_size, g.max_size] for g in up.groups] == exp["groups"]
        assert parse_not_trigger_scale_up(entry["text"]) is None


def test_autoscaler_details() -> None:
    msg = parse_not_trigger_scale_up(next(c["text"] for c in CA if c["id"] == "constructed/ca-resources"))
    assert msg is not None
    assert msg.reasons[0].details == {"resources": ["cpu", "memory"]}
    assert msg.group_counts() == {"ca-max-resources": 1, "insufficient": 2}
    whole = parse_not_trigger_scale_up("pod didn't trigger scale-up: max total nodes in cluster reached")
    assert whole is not None
    assert whole.reasons[0].code == "ca-max-total-nodes" and whole.reasons[0].count is None


# --- admission --------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", ADM, ids=[a["id"] for a in ADM])
def test_admission_fixture(entry: dict) -> None:
    exp = entry["expect"]
    f = parse_admission_failure(entry["text"])
    assert f is not None
    assert f.kind == exp["kind"]
    assert f.raw == entry["text"]
    for key in ("pod_name", "quota_name", "statefulset", "combined"):
        if key in exp:
            assert getattr(f, key) == exp[key]
    if "resources" in exp:
        assert [[r.resource, r.requested, r.used, r.limited] for r in f.resources] == exp["resources"]
    if "missing" in exp:
        assert [[r, list(c)] for r, c in f.missing] == exp["missing"]
    if "limits" in exp:
        got = [[v.resource, v.scope, v.bound, v.allowed, v.actual, v.field] for v in f.limits]
        assert got == exp["limits"]
    if "level" in exp:
        assert (f.pod_security_level, f.pod_security_version) == (exp["level"], exp["version"])
        assert len(f.violations) == exp["violations"]


def test_pod_security_violations_split_outside_parentheses() -> None:
    f = parse_admission_failure(next(a["text"] for a in ADM if a["ref"] == "adm.psa.enforce"))
    assert f is not None
    assert f.violations[1] == (
        'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"])')
    assert f.message.startswith('pods "web-7d4b9c8f6d-abcde" is forbidden: violates PodSecurity')


def test_admission_not_matching() -> None:
    assert parse_admission_failure("Created pod: web-7d4b9c8f6d-x2k4p") is None
    assert parse_admission_failure("") is None


def test_quota_resource_names() -> None:
    f = parse_admission_failure(next(a["text"] for a in ADM if a["ref"] == "adm.quota.must_specify"))
    assert f is not None and f.resource_names == ("limits.cpu", "limits.memory")


# --- Preempted / Nominated -------------------------------------------------------------------------
def test_preempted_and_nominated() -> None:
    p = parse_preempted("Preempted by pod 6f1c2a9e-0000-4000-8000-00000000abcd on node worker-2")
    assert p is not None and p.node == "worker-2" and p.preemptor_is_uid
    old = parse_preempted("Preempted by shop/batch-7 on node worker-3")
    assert old is not None and old.preemptor == "shop/batch-7" and not old.preemptor_is_uid
    assert parse_preempted("Successfully assigned a/b to c") is None
    n = parse_nominated("Pod should schedule on: nodeclaim/default-x7k2p, node/ip-10-0-1-5.ec2.internal")
    assert n is not None and (n.nodeclaim, n.node) == ("default-x7k2p", "ip-10-0-1-5.ec2.internal")
    only = parse_nominated("Pod should schedule on: nodeclaim/default-x7k2p")
    assert only is not None and only.node == ""
