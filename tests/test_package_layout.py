"""The package in rooms (docs/design.md §12): imports only go downward, there is no import circle,
the package root holds at most 10 modules, and a checkpoint written before the rooms existed still
loads.

Rooms, bottom to top: errors.py and labels.py (they import nothing of ours); models/, losses/,
augment/; data/; the shared core, itself in rooms (stage_table.py and recipe_table.py; config/;
checkpoints/; stage_data.py and run_log.py); runtime/; inference/; evaluation/; training/. Every
`import` and `from ... import` of lascar_ref, at module level or inside a function, is read from
the source with `ast`."""

import ast
import gzip
import shutil
from pathlib import Path

import pytest
import torch

from lascar_ref.checkpoints import load_checkpoint
from lascar_ref.checkpoints.init_weights import apply_weights, read_weights
from lascar_ref.stage_table import STAGES, build_model

PACKAGE = Path(__file__).resolve().parents[1] / "lascar_ref"
ROOMS = {  # first part of the module path under lascar_ref -> height (3-6: the shared core)
    "errors": 0,
    "labels": 0,
    "models": 1,
    "losses": 1,
    "augment": 1,
    "data": 2,
    "stage_table": 3,
    "recipe_table": 3,
    "config": 4,
    "checkpoints": 5,
    "stage_data": 6,
    "run_log": 6,
    "runtime": 7,
    "inference": 8,
    "evaluation": 9,
    "training": 10,
}
ROOT_MODULES_MAX = 10  # modules at the package root, __init__ aside (docs/design.md §12)


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
    """The room's height; a module of no room (a new root module or folder) must be placed first."""
    parts = module.split(".")
    if len(parts) == 1:
        return -1  # the package's own __init__: imports nothing of ours
    if parts[1] not in ROOMS:
        raise KeyError(f"{module}: in no room of ROOMS (tests/test_package_layout.py)")
    return ROOMS[parts[1]]


def graph() -> dict[str, set[str]]:
    return {m: imports_of(p) for m, p in MODULES.items() if m != "lascar_ref"}


def test_every_module_has_a_room_and_the_root_holds_at_most_10():
    unplaced = [m for m in MODULES if m.count(".") and m.split(".")[1] not in ROOMS]
    assert not unplaced, unplaced
    root = sorted(p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(root) <= ROOT_MODULES_MAX, root


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
    assert height("lascar_ref.runtime.distributed") > height("lascar_ref.checkpoints.files")
    assert height("lascar_ref.checkpoints.init_weights") > height("lascar_ref.config.checks")
    assert height("lascar_ref.config.train_config") > height("lascar_ref.stage_table")
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
