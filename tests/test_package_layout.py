"""The package in rooms (docs/design.md §12): imports only go downward, there is no import circle,
and a checkpoint written before the rooms existed still loads.

Rooms, bottom to top: errors.py and labels.py (they import nothing of ours); models/, losses/,
augment/; data/; the shared core (config, stage table, checkpoint record, checkpoint, init weights,
recipe table, a stage's data, run log, export); runtime/;
inference/; evaluation/; training/. Every `import` and `from ... import` of lascar_ref, at module
level or inside a function, is read from the source with `ast`.
"""

import ast
import gzip
import shutil
from pathlib import Path

import pytest
import torch

from lascar_ref.checkpoint import load_checkpoint
from lascar_ref.init_weights import apply_weights, read_weights
from lascar_ref.stage_table import STAGES, build_model

PACKAGE = Path(__file__).resolve().parents[1] / "lascar_ref"
ROOMS = {  # first part of the module path under lascar_ref -> height; anything else: the core
    "errors": 0,
    "labels": 0,
    "models": 1,
    "losses": 1,
    "augment": 1,
    "data": 2,
    "runtime": 4,
    "inference": 5,
    "evaluation": 6,
    "training": 7,
}
CORE = 3


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every lascar_ref module `path` imports (relative imports resolved; `from X import name` also
    counts X.name when that is a module)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("lascar_ref")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("lascar_ref"):
                continue
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES}
    return {m for m in found if m in MODULES and m != me}


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def height(module: str) -> int:
    parts = module.split(".")
    return ROOMS.get(parts[1], CORE) if len(parts) > 1 else CORE


def graph() -> dict[str, set[str]]:
    return {m: imports_of(p) for m, p in MODULES.items() if m != "lascar_ref"}


def test_no_module_imports_a_higher_room():
    upward = [
        f"{m} (room {height(m)}) imports {t} (room {height(t)})"
        for m, targets in graph().items()
        for t in targets
        if height(t) > height(m) and not (t.endswith("__main__") or m.endswith("__main__"))
    ]
    assert not upward, "\n".join(upward)


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle found by a depth-first search (one path per back edge)."""
    found, state, stack = [], {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(g.get(m, ())):
            if t.rpartition(".")[0] == m or m.rpartition(".")[0] == t:
                continue  # a package and its own modules (an __init__ re-export)
            if state.get(t) == "open":
                found.append(stack[stack.index(t) :] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(g):
        if m not in state:
            visit(m)
    return found


def test_no_import_circle():
    assert not cycles(graph()), cycles(graph())


def test_the_checkers_catch_a_circle_and_an_upward_import():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert height("lascar_ref.runtime.distributed") > height("lascar_ref.checkpoint")
    assert height("lascar_ref.training.fit") > height("lascar_ref.evaluation.metrics")
    assert "lascar_ref.runtime.distributed" in imports_of(PACKAGE / "training" / "state.py")


def test_errors_and_labels_import_nothing_of_ours():
    assert imports_of(PACKAGE / "errors.py") == set() == imports_of(PACKAGE / "labels.py")


OLD = Path(__file__).parent / "data" / "stage1_872c7ab.last.pt.gz"


@pytest.fixture
def old_checkpoint(tmp_path) -> Path:
    """A Stage I .last.pt written by commit 872c7ab (before the rooms; weights zeroed so that the
    file compresses), unpacked."""
    path = tmp_path / "stage1.last.pt"
    with gzip.open(OLD, "rb") as f, open(path, "wb") as g:
        shutil.copyfileobj(f, g)
    return path


def test_a_checkpoint_written_before_the_move_still_loads(old_checkpoint):
    state = load_checkpoint(old_checkpoint, (1,), schema="resume")
    model = build_model(STAGES[1], state["arch"]["feature_size"])
    model.load_state_dict(state["model"])  # strict: every key of the old file has its place
    assert all(float(p.detach().abs().sum()) == 0 for p in model.parameters())  # the zeroed weights
    weights = read_weights(old_checkpoint)
    assert (weights.kind, weights.stage, weights.feature_size) == ("lascar", 1, 12)
    stage2 = build_model(STAGES[2], 12)
    loaded, _ = apply_weights(weights, stage2, STAGES[2])
    assert loaded == ["E", "D_LA"]
    assert (
        float(stage2.encoder.swin.patch_embed.proj.weight.detach().abs().sum()) == 0
    )  # came from it
    assert (
        float(stage2.decoder_scar.head.weight.detach().abs().sum()) > 0
    )  # random, as Stage II starts
    assert isinstance(state["optimizer"]["state"], dict) and state["rng"]["augment"].dtype == (
        torch.uint8
    )
