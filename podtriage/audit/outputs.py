"""Where the audit's metrics go: a textfile for node-exporter (atomic rename) or a Pushgateway."""

from __future__ import annotations

import base64
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from ..errors import ClusterError, InputFileError

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class PushError(ClusterError):
    """The Pushgateway could not be reached or refused the metrics (exit code 3, like the cluster)."""


def write_atomic(path: str | Path, text: str) -> None:
    """Write next to the target, then rename over it: a reader (node-exporter) never sees half a file."""
    p = Path(path)
    directory = p.parent if str(p.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputFileError(str(p), f"cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise InputFileError(str(p), f"cannot write: {exc.strerror or exc}") from None


def grouping_path(job: str, grouping: Mapping[str, str] | None = None) -> str:
    """The Pushgateway's grouping-key path: /metrics/job/<job>/<label>/<value>...

    A value with a `/` (or an empty one) goes base64url-encoded as `<label>@base64/<value>`, the
    Pushgateway's own escape, so that any cluster name makes a group of its own."""
    parts = ["metrics"]
    for label, value in (("job", job), *sorted((grouping or {}).items())):
        if not value or "/" in value:
            encoded = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii") or "="
            parts += [f"{label}@base64", encoded]
        else:
            parts += [label, quote(value, safe="")]
    return "/" + "/".join(parts)


def push(url: str, text: str, *, job: str = "podtriage", grouping: Mapping[str, str] | None = None,
         timeout: float = 10.0) -> str:
    """HTTP PUT to <url>/metrics/job/<job>[/cluster/<name>]: replaces every metric of that group
    (and only that group: two clusters with their own `cluster` grouping key never overwrite each
    other). Returns the URL."""
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise PushError(f"--pushgateway {url!r} is not an http(s) URL")
    target = base + grouping_path(job, grouping)
    req = urllib.request.Request(target, data=text.encode("utf-8"), method="PUT",
                                 headers={"Content-Type": CONTENT_TYPE})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        body = exc.read(300).decode("utf-8", "replace").strip()
        raise PushError(f"the Pushgateway at {target} answered {exc.code} {exc.reason}" +
                        (f": {body}" if body else "")) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PushError(f"cannot reach the Pushgateway at {target}: {reason}") from None
    if status not in (200, 202, 204):
        raise PushError(f"the Pushgateway at {target} answered {status}")
    return target
