"""Build a Dockerfile's file set and run containers from it without a container engine.

CI has no Docker. This runs the instructions of deploy/Dockerfile as written, on the same context:
each stage gets a root directory; `COPY` copies from the context or from an earlier stage's root;
`RUN` runs its shell command chrooted into a root made of the stage's own files plus this machine's
userland (/usr, /etc, ...), which stands in for the base image. `ENV`, `USER`, `ENTRYPOINT` and
`CMD` are recorded for `run()`, which starts a process the way a kubelet starts a container: the
image's files, the pod's volume mounts at their paths, the container's env, as its user and group,
with a read-only root file system when asked. Paths are never rewritten: /src and /opt/podtriage
are /src and /opt/podtriage inside the root.

It needs mount namespaces and chroot: root (as CI runs), or an unprivileged user namespace, where
processes run as the namespace's root (a different uid cannot be taken there; `run()` reports it).
Any instruction it does not know fails loudly, so a Dockerfile change cannot silently bypass it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# This machine's userland: what a base image would provide (read-only inside every root).
HOST_DIRS = ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Host settings a `docker build` behind a proxy or a private index gets as build args.
PASSTHROUGH_ENV = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CERT", "PIP_DEFAULT_TIMEOUT", "SSL_CERT_FILE",
                   "REQUESTS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                   "no_proxy")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class RootfsError(RuntimeError):
    pass


@dataclass
class Stage:
    name: str
    root: Path
    env: dict[str, str] = field(default_factory=lambda: {"PATH": DEFAULT_PATH})
    user: str = ""
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # what was done, for failure messages


@dataclass(frozen=True)
class Mount:
    host: Path
    read_only: bool = False


def isolation() -> str:
    """'root' (mount namespace as root), 'userns' (unprivileged user namespace) or '' (neither)."""
    if shutil.which("unshare") is None or shutil.which("chroot") is None:
        return ""
    if os.geteuid() == 0:
        probe = ["unshare", "--mount", "--propagation", "private", "true"]
        mode = "root"
    else:
        probe = ["unshare", "--user", "--map-root-user", "--mount", "true"]
        mode = "userns"
    ok = subprocess.run(probe, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    return mode if ok else ""


def _instructions(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    if current.strip():
        raise RootfsError(f"unterminated line continuation: {current!r}")
    return out


def _expand(value: str, env: Mapping[str, str]) -> str:
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", lambda m: env.get(m.group(1) or m.group(2), ""), value)


def _env_pairs(rest: str, env: Mapping[str, str]) -> dict[str, str]:
    words = shlex.split(rest)
    if len(words) >= 2 and "=" not in words[0]:  # legacy `ENV KEY value`
        return {words[0]: _expand(" ".join(words[1:]), env)}
    pairs = {}
    for w in words:
        key, sep, value = w.partition("=")
        if not sep:
            raise RootfsError(f"ENV {rest!r}: expected KEY=VALUE")
        pairs[key] = _expand(value, {**env, **pairs})
    return pairs


def _exec_form(rest: str, what: str) -> list[str]:
    try:
        value = json.loads(rest)
    except ValueError:
        raise RootfsError(f"{what} must use the exec form (a JSON list): {rest!r}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RootfsError(f"{what} must be a JSON list of strings: {rest!r}")
    return value


def build(dockerfile: Path, context: Path, workdir: Path, *, mode: str | None = None) -> Stage:
    """Run every instruction of `dockerfile` on `context`; returns the final stage."""
    mode = isolation() if mode is None else mode
    if not mode:
        raise RootfsError("needs mount namespaces and chroot (unshare from util-linux; root or user namespaces)")
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    for word, rest in _instructions(dockerfile.read_text(encoding="utf-8")):
        if word == "ARG":
            key, _, default = rest.partition("=")
            args[key.strip()] = default.strip()
            continue
        if word == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else str(len(stages))
            if len(parts) not in (1, 3):
                raise RootfsError(f"FROM {rest!r}: expected IMAGE [AS NAME]")
            root = workdir / f"stage-{len(stages)}-{name}"
            root.mkdir(parents=True)
            stage = Stage(name=name, root=root)
            stage.steps.append(f"FROM {_expand(parts[0], args)} (base: this machine's userland)")
            stages[name] = stage
            continue
        if stage is None:
            raise RootfsError(f"{word} before FROM")
        stage.steps.append(f"{word} {rest}")
        if word == "COPY":
            words = rest.split()
            source_root = context
            if words and words[0].startswith("--from="):
                src_stage = stages.get(words.pop(0).split("=", 1)[1])
                if src_stage is None:
                    raise RootfsError(f"COPY {rest!r}: unknown stage")
                source_root = src_stage.root
            elif any(w.startswith("--") for w in words):
                raise RootfsError(f"COPY {rest!r}: unsupported option")
            *sources, dest = words
            for src in sources:
                _copy(source_root, src, stage.root, dest)
        elif word == "RUN":
            if rest.startswith("["):
                raise RootfsError("RUN in exec form is not supported")
            build_env = {**stage.env, **{k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ}}
            proc = run_in(stage.root, ["/bin/sh", "-c", rest], env=build_env, mode=mode, in_place=True,
                          tmp=Mount(Path(tempfile.mkdtemp(dir=workdir, prefix="tmp-"))))
            if proc.returncode != 0:
                raise RootfsError(f"RUN {rest} exited {proc.returncode}\n--- stdout ---\n{proc.stdout[-3000:]}"
                                  f"\n--- stderr ---\n{proc.stderr[-5000:]}")
        elif word == "ENV":
            stage.env.update(_env_pairs(rest, stage.env))
        elif word == "USER":
            stage.user = rest.strip()
        elif word == "ENTRYPOINT":
            stage.entrypoint = _exec_form(rest, "ENTRYPOINT")
        elif word == "CMD":
            stage.cmd = _exec_form(rest, "CMD")
        elif word == "LABEL":
            pass
        else:
            raise RootfsError(f"unsupported instruction {word} {rest!r}: teach tests/rootfs.py or keep "
                              "deploy/Dockerfile to what it can check")
    if stage is None:
        raise RootfsError("no FROM")
    return stage


def _copy(source_root: Path, src: str, root: Path, dest: str) -> None:
    if not dest.startswith("/"):
        raise RootfsError(f"COPY destination {dest!r} must be absolute")
    source = (source_root / src.lstrip("/")).resolve() if src not in (".", "./") else source_root
    if source_root not in source.parents and source != source_root:
        raise RootfsError(f"COPY source {src!r} is outside the context")
    target = root / dest.lstrip("/")
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    elif source.exists():
        if dest.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            target = target / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    else:
        raise RootfsError(f"COPY source {src!r} does not exist in {source_root}")


def _uid_gid(user: str) -> tuple[int, int] | None:
    if not user:
        return None
    uid, _, gid = user.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        raise RootfsError(f"USER {user!r}: only numeric uid[:gid] is supported")
    return int(uid), int(gid or uid)


def run_in(image_root: Path, argv: Sequence[str], *, env: Mapping[str, str], mode: str,
           mounts: Mapping[str, Mount] | None = None, user: str = "", read_only_root: bool = False,
           tmp: Mount | None = None, in_place: bool = False, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run `argv` chrooted into a root of `image_root`'s files, the host userland and `mounts`.

    `in_place` (a build stage's RUN): the root is `image_root` itself, so that what the command
    writes stays in the stage. Otherwise (a container) a fresh root gets the image's top-level
    directories bound in, read-only with `read_only_root`."""
    mounts = dict(mounts or {})
    if tmp is not None:
        mounts.setdefault("/tmp", tmp)
    ids = _uid_gid(user)
    with tempfile.TemporaryDirectory(prefix="rootfs-") as scratch:
        root = image_root if in_place else Path(scratch) / "root"
        root.mkdir(exist_ok=True)
        binds: list[tuple[Path, str, bool]] = []
        for d in HOST_DIRS:
            host = Path("/") / d
            if host.is_symlink():
                if not (root / d).is_symlink():
                    (root / d).symlink_to(os.readlink(host))
            elif host.is_dir():
                binds.append((host, "/" + d, True))
        if not in_place:
            for top in sorted(p.name for p in image_root.iterdir()):
                if top not in HOST_DIRS and top not in ("dev", "proc", "tmp"):
                    binds.append((image_root / top, "/" + top, read_only_root))
        for path, m in sorted(mounts.items()):
            binds.append((m.host, path, m.read_only))
        for host, path, _ in binds:
            target = root / path.lstrip("/")
            if host.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
        for d in ("dev", "proc"):
            (root / d).mkdir(exist_ok=True)
        q = shlex.quote
        script = ["set -eu"]
        # The root becomes a mount of its own so that it can be made read-only (readOnlyRootFilesystem).
        script.append(f"mount --bind {q(str(root))} {q(str(root))}")
        script.append(f"mount --rbind /dev {q(str(root / 'dev'))}")
        script.append(f"mount --rbind /proc {q(str(root / 'proc'))}")
        for host, path, ro in binds:
            target = q(str(root / path.lstrip("/")))
            script.append(f"mount --rbind {q(str(host))} {target}")
            if ro:
                script.append(f"mount -o remount,bind,ro {target}")
        if read_only_root:
            script.append(f"mount -o remount,bind,ro {q(str(root))}")
        inner = list(argv)
        if ids is not None and mode == "root":
            inner = ["setpriv", f"--reuid={ids[0]}", f"--regid={ids[1]}", "--clear-groups", "--", *inner]
        script.append("exec chroot " + q(str(root)) + " " + " ".join(q(a) for a in inner))
        if mode == "root":
            outer = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", "\n".join(script)]
        else:
            outer = ["unshare", "--user", "--map-root-user", "--mount", "/bin/sh", "-c", "\n".join(script)]
        home = "/root" if ids is None or ids[0] == 0 else "/"
        clean_env = {"PATH": DEFAULT_PATH, "HOME": home, **env}
        return subprocess.run(outer, capture_output=True, text=True, env=clean_env, timeout=timeout,
                              stdin=subprocess.DEVNULL, cwd="/")


def run_container(image: Stage, argv: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None,
                  mounts: Mapping[str, Mount] | None = None, user: str | None = None,
                  read_only_root: bool = False, mode: str | None = None,
                  timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Start `argv` (default: ENTRYPOINT + CMD) from the image like a container runtime would."""
    mode = isolation() if mode is None else mode
    command = list(argv) if argv is not None else [*image.entrypoint, *image.cmd]
    full_env = {**image.env, **(env or {})}
    if command and "/" not in command[0]:
        resolved = _which(image.root, command[0], full_env.get("PATH", DEFAULT_PATH))
        command[0] = resolved or command[0]
    return run_in(image.root, command, env=full_env, mode=mode, mounts=mounts,
                  user=image.user if user is None else user, read_only_root=read_only_root, timeout=timeout)


def _which(image_root: Path, name: str, path: str) -> str | None:
    for d in path.split(":"):
        inside = f"{d.rstrip('/')}/{name}"
        for base in (image_root, Path("/")):
            cand = base / inside.lstrip("/")
            if cand.is_file() and os.access(cand, os.X_OK):
                return inside
    return None
