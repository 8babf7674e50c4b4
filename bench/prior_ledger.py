"""The prior testbed's ledger: finished seed x fold pairs kept in the repository, so that a run
spread over several sessions (one pair is about half an hour on 2 CPU cores) adds up to one
result — docs/design.md §7.

    bench/prior_chain.json = {"format": "lascar_ref-prior-ledger", "pairs": [
        {"seed", "fold", "protocol_sha256", "protocol", "commit", "dirty", "finished",
         "runs": [one record per arm x stage]}]}

A pair enters the ledger only once both arms' Stage II and Stage III are trained and scored (a
half-finished pair stays in the run folder, where re-running resumes it). `protocol` is what
decides the numbers (phantom data, each stage's demo config, the arms, the folds); pairs of
another protocol are kept in the file but never pooled with the current one (`current`).
`commit` is the git commit of the code that trained the pair (and `dirty` whether lascar_ref/,
train.py or bench/ had uncommitted changes, the ledger itself aside), so a pair stays tied to
what produced it.
The file is written atomically (a temporary file, then os.replace).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
from pathlib import Path

FORMAT = "lascar_ref-prior-ledger"


def protocol_sha256(protocol: dict) -> str:
    """SHA-256 of the protocol as sorted, compact JSON (independent of key order)."""
    text = json.dumps(protocol, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def load(path: Path) -> dict:
    """The ledger at `path`, or an empty one if there is none; a foreign file is refused."""
    if not path.is_file():
        return {"format": FORMAT, "pairs": []}
    ledger = json.loads(path.read_text())
    if not isinstance(ledger, dict) or ledger.get("format") != FORMAT:
        raise ValueError(f"{path}: not a prior testbed ledger (expected format {FORMAT!r})")
    return ledger


def save(path: Path, ledger: dict) -> None:
    """Write the ledger atomically: a reader sees the old file or the new one, never half."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(ledger, indent=1) + "\n")
    os.replace(tmp, path)


def current(ledger: dict, sha: str) -> list[dict]:
    """The pairs of the protocol `sha`, in (seed, fold) order."""
    pairs = [p for p in ledger["pairs"] if p["protocol_sha256"] == sha]
    return sorted(pairs, key=lambda p: (p["seed"], p["fold"]))


def find(ledger: dict, sha: str, seed: int, fold: int) -> dict | None:
    """The pair (seed, fold) of protocol `sha`, if it is in the ledger."""
    for p in ledger["pairs"]:
        if (p["protocol_sha256"], p["seed"], p["fold"]) == (sha, seed, fold):
            return p
    return None


def add(ledger: dict, protocol: dict, seed: int, fold: int, runs: list[dict], code: dict) -> dict:
    """Add (or replace) pair (seed, fold) of `protocol`; `code` = {"commit", "dirty"}."""
    sha = protocol_sha256(protocol)
    old = find(ledger, sha, seed, fold)
    ledger["pairs"] = [p for p in ledger["pairs"] if p is not old]
    entry = {
        "seed": seed,
        "fold": fold,
        "protocol_sha256": sha,
        "protocol": protocol,
        "commit": code["commit"],
        "dirty": code["dirty"],
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "runs": runs,
    }
    ledger["pairs"].append(entry)
    return entry


def differences(old: list[dict], new: list[dict]) -> list[str]:
    """Every value that differs between two runs of one pair (records matched by arm and
    stage; exact comparison: CPU training is deterministic), one line each; [] if identical."""

    def key(r):
        return (r["variant"], r["stage"])

    before, after = {key(r): r for r in old}, {key(r): r for r in new}
    lines = [f"{k[0]} stage {k[1]}: only in one run" for k in sorted(set(before) ^ set(after))]
    for k in sorted(set(before) & set(after)):
        for field in sorted(set(before[k]) | set(after[k])):
            a, b = before[k].get(field), after[k].get(field)
            same = a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)
            if not same:
                lines.append(f"{k[0]} stage {k[1]} {field}: {a} -> {b}")
    return lines


def code_state(root: Path, exclude: Path | None = None) -> dict:
    """{"commit": HEAD of `root` or None outside git, "dirty": uncommitted changes under
    lascar_ref/, train.py or bench/, the ledger file `exclude` not counted}."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    paths = ["lascar_ref", "train.py", "bench"]
    if exclude is not None and Path(exclude).resolve().is_relative_to(Path(root).resolve()):
        paths.append(f":(exclude){Path(exclude).resolve().relative_to(Path(root).resolve())}")
    changes = git("status", "--porcelain", "--", *paths)
    return {"commit": commit, "dirty": bool(changes) if changes is not None else None}
