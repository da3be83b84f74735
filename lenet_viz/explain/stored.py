"""Results about the shipped checkpoints computed once and kept on disk: their robustness curves
and the top digits of every map, in checkpoints/explanations.json.

Computing them takes seconds (robustness: 1,000 digits distorted 50 ways; top digits: 10,000
digits through every layer), which made the first visit of the Robustness page, and of the
Inside page's "What each map looks for", the slowest waits of the app (issue 22). A stored
result is found by the model's fingerprint (a hash of its config and weights) and the digits it
was computed on, so a retrained checkpoint, or another set of digits, never gets a stale one:
it is computed as before. `python scripts/store_explanations.py` writes the file again for the
shipped checkpoints (after they change).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

STORE = Path(__file__).resolve().parents[2] / "checkpoints" / "explanations.json"
_LOCK = threading.Lock()
_LOADED: dict[Path, dict] = {}


def store_key(fingerprint: str, source: str, digits: int) -> str:
    return f"{fingerprint}/{source}/{digits}"


def _entries(path: Path) -> dict:
    """The file's {kind: {key: result}}, read once per process ({} if there is none)."""
    with _LOCK:
        if path not in _LOADED:
            try:
                _LOADED[path] = json.loads(path.read_text())
            except (OSError, ValueError):
                _LOADED[path] = {}
        return _LOADED[path]


def stored_result(kind: str, key: str, path: Path = STORE) -> dict | None:
    """The result of `kind` ("robustness", "top_digits") stored under `key`, or None."""
    return _entries(path).get(kind, {}).get(key)


def write_results(results: dict[str, dict[str, dict]], path: Path = STORE) -> None:
    """Write {kind: {key: result}} as the store (compact: one result a line)."""
    lines = ["{"]
    for k, (kind, entries) in enumerate(sorted(results.items())):
        lines.append(f"  {json.dumps(kind)}: {{")
        for e, (key, result) in enumerate(sorted(entries.items())):
            comma = "," if e < len(entries) - 1 else ""
            lines.append(
                f"    {json.dumps(key)}: {json.dumps(result, separators=(',', ':'))}{comma}"
            )
        lines.append("  }" + ("," if k < len(results) - 1 else ""))
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")
    with _LOCK:
        _LOADED.pop(path, None)
