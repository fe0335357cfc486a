"""kubectl's conventions, as a kubectl user types them: `-o -`, durations, `-v=6`, `--as`, the
plugin's usage line, the no-kubeconfig hint, and shell completion in real bash, zsh and fish.

Live completion (names from the real kube-apiserver, and through kubectl's own plugin completion)
is in tests/e2e/test_kubectl_conventions.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from podtriage.cli import main, parse_duration

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo" / "cluster.yaml"
BIN = Path(sys.executable).parent  # the venv's console scripts (tools/setup.sh)


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT,
        exe: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("PODTRIAGE_DEBUG", None)
    argv = [exe, *args] if exe else [sys.executable, "-m", "podtriage.cli", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)


def script(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is not installed: run tools/setup.sh (pyproject's [project.scripts])")
    return str(path)


# --- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200),
                                          ("1h2m3s", 3723), ("0", 0), ("0s", 0), ("45", 45), ("2.5", 2.5),
                                          ("1.5m", 90), ("100us", 1e-4)])
def test_kubectl_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["3x", "-1s", "s", "1s2", "", "1.5.2s", "inf", "nan", "1 s", "m5"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_request_timeout_and_timeout_take_durations() -> None:
    p = run("explain", "deployment/inference", "-n", "ml", "--from", str(DEMO), "--request-timeout", "30s",
            "--timeout=2m", "-o", "json")
    assert p.returncode == 1, p.stderr
    assert json.loads(p.stdout)["rootCauses"]
    bad = run("explain", "x", "--from", str(DEMO), "--request-timeout", "3x")
    assert bad.returncode == 2 and "'3x' is not a duration" in bad.stderr and "Traceback" not in bad.stderr
    zero = run("explain", "x", "--from", str(DEMO), "--timeout", "0s")
    assert zero.returncode == 2 and "must be more than 0" in zero.stderr


# --- -o - -------------------------------------------------------------------------------------------


def test_snapshot_dash_writes_stdout_not_a_file_named_dash(tmp_path: Path) -> None:
    p = run("snapshot", "--from", str(DEMO), "-o", "-", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "-").exists() and list(tmp_path.iterdir()) == []
    doc = json.loads(p.stdout)
    assert doc["kind"] == "Snapshot" and any(i["kind"] == "Pod" for i in doc["items"])
    assert "wrote stdout:" in p.stderr
    # what went to stdout is a snapshot explain reads back, with the same answer
    saved = tmp_path / "snap.json"
    saved.write_text(p.stdout)
    again = run("explain", "deployment/inference", "-n", "ml", "--from", str(saved), "-o", "json")
    direct = run("explain", "deployment/inference", "-n", "ml", "--from", str(DEMO), "-o", "json")
    assert again.returncode == direct.returncode == 1
    assert [c["rule"] for c in json.loads(again.stdout)["rootCauses"]] == \
        [c["rule"] for c in json.loads(direct.stdout)["rootCauses"]]


def test_audit_out_dash_is_stdout(tmp_path: Path) -> None:
    p = run("audit", "--from", str(DEMO), "-o", "json", "--out", "-", "--fail-on", "none", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["kind"] == "AuditReport" and not (tmp_path / "-").exists()


# --- -v=N, --as ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-v=6", "--v=6", "-v6", "--v", "-v=0"])
def test_kubectl_log_levels_are_accepted(flag: str) -> None:
    args = ["explain", "deployment/inference", "-n", "ml", "--from", str(DEMO), flag]
    if flag == "--v":
        args.append("8")
    p = run(*args)
    assert p.returncode == 1, p.stderr  # blocked: the analysis ran
    assert "✗ Deployment ml/inference" in p.stdout


def test_v_alone_is_still_the_verbose_report() -> None:
    quiet = run("explain", "deployment/inference", "-n", "ml", "--from", str(DEMO))
    verbose = run("explain", "deployment/inference", "-n", "ml", "--from", str(DEMO), "-v")
    assert quiet.returncode == verbose.returncode == 1
    assert len(verbose.stdout) > len(quiet.stdout)


def test_a_target_after_v_is_not_taken_as_a_level() -> None:
    p = run("explain", "-v", "deployment/inference", "-n", "ml", "--from", str(DEMO))
    assert p.returncode == 1, p.stderr


def test_as_group_and_as_uid_need_as() -> None:
    for flag in ("--as-group=system:masters", "--as-uid=42"):
        p = run("explain", "x", "--from", str(DEMO), flag)
        assert p.returncode == 2 and "need --as" in p.stderr, p.stderr


# --- the plugin's name, the no-kubeconfig hint ------------------------------------------------------------


def test_help_says_kubectl_podtriage_when_run_as_the_plugin() -> None:
    plugin = run("--help", exe=script("kubectl-podtriage"))
    assert plugin.returncode == 0 and plugin.stdout.startswith("Usage: kubectl podtriage [OPTIONS] COMMAND")
    sub = run("explain", "--help", exe=script("kubectl-podtriage"))
    assert sub.stdout.startswith("Usage: kubectl podtriage explain [OPTIONS] TARGET")
    err = run("explain", exe=script("kubectl-podtriage"))
    assert err.returncode == 2 and "Try 'kubectl podtriage explain --help'" in err.stderr
    plain = run("--help", exe=script("podtriage"))
    assert plain.stdout.startswith("Usage: podtriage [OPTIONS] COMMAND")


def test_no_kubeconfig_hint_names_flags_that_exist(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "KUBECONFIG": ""}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    p = subprocess.run([sys.executable, "-m", "podtriage.cli", "explain", "web"], capture_output=True, text=True,
                       env={**clean, **env, "NO_COLOR": "1"}, cwd=tmp_path, timeout=60)
    assert p.returncode == 3, p.stderr
    hint = next(line for line in p.stderr.splitlines() if line.startswith("hint:"))
    flags = re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", hint)
    assert "--from" in flags and "-f" not in flags, hint
    explain_flags = {opt for prm in main.commands["explain"].params for opt in prm.opts}
    assert set(flags) <= explain_flags, (flags, explain_flags)


# --- shell completion -----------------------------------------------------------------------------------

SNAP_ARGS = ["--from", str(DEMO)]
DEMO_NAMESPACES = ["data", "default", "ml", "shop"]
ML_TARGETS = ["inference-5f7d8c9b44-q8w7n", "inference-5f7d8c9b44-x2k4p", "deployment/inference",
              "replicaset/inference-5f7d8c9b44"]


def _shell(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run installs zsh and fish")
        pytest.skip(f"{name} is not installed (CI installs it)")
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}


def test_completion_scripts_name_the_program() -> None:
    for shell, marker in (("bash", "complete -o nosort -F _podtriage_completion podtriage"),
                          ("zsh", "#compdef podtriage"), ("fish", "complete --no-files --command podtriage")):
        p = run("completion", shell)
        assert p.returncode == 0 and marker in p.stdout, (shell, p.stdout[:300])
    plugin = run("completion", "bash", exe=script("kubectl-podtriage"))
    assert "complete -o nosort -F _kubectl_podtriage_completion kubectl-podtriage" in plugin.stdout
    assert run("completion", "tcsh").returncode == 2


def _bash_complete(words: list[str]) -> list[str]:
    src = run("completion", "bash").stdout
    words_q = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    prog = f"""{src}
COMP_WORDS=({words_q}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
_podtriage_completion podtriage
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    p = subprocess.run([_shell("bash"), "--norc", "--noprofile", "-c", prog], capture_output=True, text=True,
                       env=_env(), cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    return [line for line in p.stdout.splitlines() if line]


def test_bash_completes_commands_namespaces_and_targets_from_the_snapshot() -> None:
    assert _bash_complete(["podtriage", "ex"]) == ["explain"]
    assert _bash_complete(["podtriage", "explain", *SNAP_ARGS, "-n", ""]) == DEMO_NAMESPACES
    assert _bash_complete(["podtriage", "explain", *SNAP_ARGS, "-n", "ml", ""]) == ML_TARGETS
    assert _bash_complete(["podtriage", "explain", *SNAP_ARGS, "-n", "ml", "deploy"]) == ["deployment/inference"]
    assert _bash_complete(["podtriage", "audit", *SNAP_ARGS, "-n", "s"]) == ["shop"]


def test_fish_completes_from_the_snapshot(tmp_path: Path) -> None:
    fish = _shell("fish")
    conf = tmp_path / "fish" / "completions"
    conf.mkdir(parents=True)
    (conf / "podtriage.fish").write_text(run("completion", "fish").stdout)

    def complete(line: str) -> list[str]:
        p = subprocess.run([fish, "--no-config", "-c", f"source {conf / 'podtriage.fish'}; "
                            f"complete --do-complete {json.dumps(line)}"],
                           capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=60)
        assert p.returncode == 0, p.stderr
        return [x.split("\t")[0] for x in p.stdout.splitlines() if x]

    assert complete(f"podtriage explain --from {DEMO} -n ") == DEMO_NAMESPACES
    assert complete(f"podtriage explain --from {DEMO} -n ml inf") == ML_TARGETS[:2]


def test_zsh_completion_function_runs_podtriage_and_offers_its_answers() -> None:
    """Real zsh runs the generated function; zsh's completion builtins (compadd, _describe), which
    exist only inside a completion widget, are replaced by functions that print what they get."""
    zsh = _shell("zsh")
    src = run("completion", "zsh").stdout
    prog = f"""
compdef() {{ :; }}
compadd() {{ local a; for a in "${{(@P)${{@[-1]}}}}"; do print -r -- "$a"; done }}
_describe() {{ :; }}
_path_files() {{ print -r -- "<files>"; }}
{src}
words=(podtriage explain --from {DEMO} -n ml ''); CURRENT=7
_podtriage_completion
print -- ---
words=(podtriage explain --from {DEMO} -n ''); CURRENT=6
_podtriage_completion
print -- ---
words=(podtriage explain --from ''); CURRENT=4
_podtriage_completion
"""
    p = subprocess.run([zsh, "-f", "-c", prog], capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    targets, namespaces, files = p.stdout.split("---\n")
    assert targets.split() == ML_TARGETS
    assert namespaces.split() == DEMO_NAMESPACES
    assert files.split() == ["<files>"]  # --from completes file names


def test_kubectl_plugin_completion_protocol() -> None:
    """kubectl runs `kubectl_complete-podtriage ARGS... WORD` and reads lines and a `:directive`."""
    exe = script("kubectl_complete-podtriage")
    p = run("explain", *SNAP_ARGS, "-n", "ml", "", exe=exe)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [*ML_TARGETS, ":4"]  # 4: ShellCompDirectiveNoFileComp
    assert run("explain", "--from", "", exe=exe).stdout.splitlines() == [":0"]  # the shell's file names
    sub = run("ex", exe=exe).stdout.splitlines()
    assert sub[-1] == ":4" and [x.split("\t")[0] for x in sub[:-1]] == ["explain"]
    assert sub[0].split("\t")[1].startswith("Explain why TARGET is Pending")  # cobra: value<TAB>description
