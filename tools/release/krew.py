#!/usr/bin/env python3
"""Build `kubectl podtriage` for krew: one archive per platform, their sha256s and the manifest.

  python tools/release/krew.py --wheel dist/podtriage-0.1.0-py3-none-any.whl --out dist/krew
  python tools/release/krew.py --wheel ... --out ... --platform linux/amd64 --base-url http://127.0.0.1:8000

Each archive, kubectl-podtriage_<os>_<arch>.tar.gz, holds `kubectl-podtriage`, a PEX (one executable
zip file run by the machine's `python3`) carrying podtriage's wheel and every runtime dependency
from requirements/runtime.lock for CPython 3.10 to 3.14 on that platform, and LICENSE. One file per
platform because kubernetes' client needs pydantic-core, a compiled extension: a single portable
zipapp cannot exist. The PEX picks the wheels for the Python that runs it (`python3`, or another
python3.1x on PATH when `python3` is older: --interpreter-constraint).

Written to --out: the archives, SHA256SUMS, and podtriage.yaml, the krew manifest (its file name is
the plugin name, as krew-index requires). Its URIs are <base-url>/<archive>; the default base URL is
the GitHub release of this version. Everything is resolved from the lock with hashes (the wheel's own
hash included): nothing floats.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = REPO / "requirements" / "runtime.lock"
LICENSE = REPO / "LICENSE"

PYTHONS = ((3, 10), (3, 11), (3, 12), (3, 13), (3, 14))
INTERPRETER_CONSTRAINT = "CPython>=3.10,<3.15"
# krew's os/arch -> (sys.platform, platform.system(), platform.machine()).
PLATFORMS = {
    "linux/amd64": ("linux", "Linux", "x86_64"),
    "linux/arm64": ("linux", "Linux", "aarch64"),
    "darwin/amd64": ("darwin", "Darwin", "x86_64"),
    "darwin/arm64": ("darwin", "Darwin", "arm64"),
}
# Oldest systems the wheels may need: glibc 2.28 (Debian 10, RHEL 8, Ubuntu 20.04), macOS 13 (google-re2,
# which cel-python needs for the DRA CEL selectors, ships macOS wheels for 13 and newer only).
GLIBC_MINOR = 28
MACOS = (13, 0)

HOMEPAGE = "https://github.com/podtriage/podtriage"
RELEASES = HOMEPAGE + "/releases/download/v{version}"
SOURCE_DATE_EPOCH = 315532800  # 1980-01-01: the archives are byte-for-byte reproducible

SHORT_DESCRIPTION = "Explain why pods are Pending, and audit a cluster"
DESCRIPTION = """\
podtriage explains why a pod (or a workload's missing pods) is Pending: it re-runs
kube-scheduler's filters on every node with upstream semantics, joins the verdicts with the
event timeline, the pod's conditions and the kubelet's statuses, and names the object and field
at fault with the fix: `kubectl podtriage explain deploy/web -n shop`.
`kubectl podtriage audit -A -o html --out report.html` reports every Pending pod of the cluster
grouped by root cause. Read-only: it only lists and gets objects, and reads Secrets as metadata.
"""
CAVEATS = """\
This plugin is a Python application: it needs CPython 3.10 to 3.14 on the machine (`python3`,
or python3.1x on PATH), and unpacks itself once under ~/.cache/pex (PEX_ROOT) on first run.
On Linux it needs glibc 2.28 or newer; on macOS, macOS 13 or newer.
Shell completion for `kubectl podtriage <TAB>` (kubectl 1.26+):
  ln -s "$(command -v kubectl-podtriage)" "$(dirname "$(command -v kubectl-podtriage)")/kubectl_complete-podtriage"
It reads the cluster with your kubeconfig identity; see the README for the RBAC it needs
(get/list, Secrets as metadata only; --no-secrets needs none on Secrets).
"""


def platform_tags(os_arch: str) -> list[str]:
    """Platform tags of wheels that run on `os_arch`, most specific first."""
    from packaging import tags

    _, system, machine = PLATFORMS[os_arch]
    if system == "Linux":
        plats = [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC_MINOR, 16, -1)]
        plats.append(f"manylinux2014_{machine}")
        if machine == "x86_64":
            plats += [f"manylinux_2_{minor}_{machine}" for minor in range(16, 4, -1)]
            plats += [f"manylinux2010_{machine}", f"manylinux1_{machine}"]
        return plats
    return list(tags.mac_platforms(MACOS, machine))


def complete_platform(os_arch: str, python: tuple[int, int]) -> dict:
    """A pex --complete-platform: the marker environment and the tags of CPython `python` on `os_arch`."""
    from packaging import tags

    sys_platform, system, machine = PLATFORMS[os_arch]
    plats = platform_tags(os_arch)
    interp = f"cp{python[0]}{python[1]}"
    compatible = [*tags.cpython_tags(python, [interp, "abi3", "none"], plats),
                  *tags.compatible_tags(python, interp, plats)]
    version = f"{python[0]}.{python[1]}"
    return {
        "marker_environment": {
            "implementation_name": "cpython", "implementation_version": f"{version}.0", "os_name": "posix",
            "platform_machine": machine, "platform_python_implementation": "CPython", "platform_release": "",
            "platform_system": system, "platform_version": "", "python_full_version": f"{version}.0",
            "python_version": version, "sys_platform": sys_platform,
        },
        "compatible_tags": [str(t) for t in dict.fromkeys(compatible)],
    }


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_pex(wheel: Path, os_arch: str, out: Path, work: Path) -> None:
    """`kubectl-podtriage` for one platform: podtriage's wheel and the locked dependencies, by hash."""
    reqs = work / f"requirements-{os_arch.replace('/', '-')}.txt"
    reqs.write_text(RUNTIME_LOCK.read_text(encoding="utf-8")
                    + f"\npodtriage @ {wheel.resolve().as_uri()} --hash=sha256:{sha256(wheel)}\n", encoding="utf-8")
    argv = [sys.executable, "-m", "pex", "-r", str(reqs), "--intransitive", "--no-build", "--no-pre-install-wheels",
            "--interpreter-constraint", INTERPRETER_CONSTRAINT, "-c", "kubectl-podtriage",
            "--python-shebang", "/usr/bin/env python3", "-o", str(out)]
    for python in PYTHONS:
        spec = work / f"platform-{os_arch.replace('/', '-')}-{python[0]}{python[1]}.json"
        spec.write_text(json.dumps(complete_platform(os_arch, python), indent=1), encoding="utf-8")
        argv += ["--complete-platform", str(spec)]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"krew.py: pex failed for {os_arch} (exit {proc.returncode}):\n{proc.stdout[-4000:]}")


def write_archive(pex: Path, archive: Path) -> None:
    """A reproducible tar.gz: kubectl-podtriage (0755) and LICENSE (0644), owned by root, fixed times."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, name, mode in ((pex, "kubectl-podtriage", 0o755), (LICENSE, "LICENSE", 0o644)):
            info = tarfile.TarInfo(name)
            data = path.read_bytes()
            info.size, info.mode, info.mtime = len(data), mode, SOURCE_DATE_EPOCH
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    with open(archive, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=SOURCE_DATE_EPOCH, filename="") as gz:
        gz.write(buf.getvalue())


def _indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line if line.strip() else line for line in text.splitlines(True))


def manifest(version: str, archives: dict[str, tuple[str, str]]) -> str:
    """The krew manifest: `archives` maps os/arch -> (uri, sha256)."""
    platforms = []
    for os_arch, (uri, digest) in archives.items():
        os_, arch = os_arch.split("/")
        platforms.append(f"""\
  - selector:
      matchLabels:
        os: {os_}
        arch: {arch}
    uri: {uri}
    sha256: {digest}
    bin: kubectl-podtriage
""")
    return f"""\
# krew plugin manifest for `kubectl podtriage`, generated by tools/release/krew.py; submit it to
# krew-index as plugins/podtriage.yaml, or install from it: kubectl krew install --manifest=podtriage.yaml
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: podtriage
spec:
  version: v{version}
  homepage: {HOMEPAGE}
  shortDescription: {SHORT_DESCRIPTION}
  description: |
{_indent(DESCRIPTION, 4)}  caveats: |
{_indent(CAVEATS, 4)}  platforms:
{"".join(platforms)}"""


def wheel_version(wheel: Path) -> str:
    parts = wheel.name.split("-")
    if len(parts) < 5 or parts[0] != "podtriage" or not wheel.name.endswith(".whl"):
        raise SystemExit(f"krew.py: {wheel} is not a podtriage wheel")
    return parts[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, required=True, help="podtriage's wheel (python -m build)")
    ap.add_argument("--out", type=Path, required=True, help="directory for the archives and the manifest")
    ap.add_argument("--platform", action="append", choices=sorted(PLATFORMS), dest="platforms",
                    help="os/arch to build (repeatable; default: all)")
    ap.add_argument("--base-url", default=None, help="where the archives are served (default: the GitHub release)")
    args = ap.parse_args(argv)
    version = wheel_version(args.wheel)
    base = (args.base_url or RELEASES.format(version=version)).rstrip("/")
    args.out.mkdir(parents=True, exist_ok=True)
    archives: dict[str, tuple[str, str]] = {}
    sums = []
    with tempfile.TemporaryDirectory(prefix="podtriage-krew-") as tmp:
        work = Path(tmp)
        for os_arch in args.platforms or list(PLATFORMS):
            name = f"kubectl-podtriage_{os_arch.replace('/', '_')}.tar.gz"
            pex = work / f"kubectl-podtriage-{os_arch.replace('/', '-')}"
            build_pex(args.wheel, os_arch, pex, work)
            write_archive(pex, args.out / name)
            digest = sha256(args.out / name)
            archives[os_arch] = (f"{base}/{name}", digest)
            sums.append(f"{digest}  {name}\n")
            print(f"{name}  {(args.out / name).stat().st_size / 1e6:.1f} MB  sha256 {digest}", file=sys.stderr)
    (args.out / "SHA256SUMS").write_text("".join(sums), encoding="utf-8")
    (args.out / "podtriage.yaml").write_text(manifest(version, archives), encoding="utf-8")
    print(args.out / "podtriage.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
