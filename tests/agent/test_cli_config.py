"""The CLI's shape: no heavy import before a command needs it, one config system for every
command (YAML + --set, flags as shorthands, keys listed in --help), presets found from any
folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import SHORTHANDS, main
from envs.config import ConfigError, keys, load_dataclass

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "peft", "faiss", "openai")


def _modules_after(code: str, cwd: Path = ROOT) -> set[str]:
    script = f"import sys\n{code}\nprint('MODULES:', ' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, check=True
    )
    return set(done.stdout.rpartition("MODULES:")[2].split())


@pytest.mark.parametrize(
    "argv",
    [
        ["tasks"],
        ["run", "--task", "nope"],  # bad input: exit 2 before anything heavy
        ["run", "--set", "runner.nope=1"],
        ["consolidate", "--run", "runs/x", "--set", "trigger.alpha=abc"],
        ["memory", "--run", "runs/x", "--index", "annoy"],
    ],
)
def test_light_commands_and_bad_input_import_nothing_heavy(argv: list[str]) -> None:
    loaded = _modules_after(
        f"from agent.cli import main\ncode = main({argv!r})\nassert code in (0, 2), code"
    )
    assert not [m for m in HEAVY if m in loaded], f"peam {' '.join(argv)} imported heavy modules"


def test_help_of_every_command_lists_its_keys_and_imports_nothing_heavy() -> None:
    code = (
        "from agent.cli import main\n"
        "for cmd in ['run', 'train-fast', 'consolidate', 'compare', 'memory']:\n"
        "    try:\n"
        "        main([cmd, '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    loaded = _modules_after(code)
    assert not [m for m in HEAVY if m in loaded]
    out = subprocess.run(
        [sys.executable, "-m", "agent.cli", "consolidate", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "trainer.bc.lr = 0.002" in out  # a nested key with the section's own default
    assert "Significance level of both tests." in out  # the field's docstring
    assert "--updates UPDATES" in out and "trainer.updates=...)" in out


def test_every_shorthand_names_a_real_key() -> None:
    from agent.cli import (
        _compare_config,
        _consolidate_config,
        _fast_config,
        _loop_config,
        _memory_config,
        _run_config,
    )

    classes = {
        "run": _run_config,
        "score": _run_config,
        "train-fast": _fast_config,
        "consolidate": _consolidate_config,
        "compare": _compare_config,
        "loop": _loop_config,
        "memory": _memory_config,
    }
    for command, rows in SHORTHANDS.items():
        valid = {k for k, _, _ in keys(classes[command]())}
        assert {key for _, key, _, _ in rows} <= valid, command
    # The same flag means the same thing everywhere.
    meaning = {cmd: dict((f, k) for f, k, _, _ in rows) for cmd, rows in SHORTHANDS.items()}
    assert meaning["train-fast"]["--epochs"] == "adapter.epochs"
    assert meaning["consolidate"]["--updates"] == "trainer.updates"
    assert meaning["train-fast"]["--trunk-epochs"] == meaning["consolidate"]["--trunk-epochs"]


def test_an_override_keeps_the_sections_other_defaults() -> None:
    from consolidation.config import ConsolidateConfig

    cfg = load_dataclass(ConsolidateConfig, None, ["trainer.bc.epochs=1"], "configs/consolidate/")
    assert cfg.trainer.bc.epochs == 1.0 and cfg.trainer.bc.lr == 0.002  # not the class's 1e-3
    with pytest.raises(ConfigError, match=r"valid keys: trainer\.bc"):
        load_dataclass(ConsolidateConfig, None, ["trainer.nope=1"], "configs/consolidate/")


def test_presets_are_found_from_any_folder(tmp_path: Path) -> None:
    env = {"PATH": "", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", "from agent.cli import main; raise SystemExit(main(['tasks']))"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "make_iron_pickaxe" in done.stdout
    code = (
        "from agent.loop.config import load_config\n"
        "c = load_config('configs/run/demo.yaml')\n"
        "from envs.tasks import load_tasks\n"
        "assert load_tasks(c.tasks_file)\n"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        check=True,
    )


def test_memory_flags_are_config_keys(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["memory", "--run", str(tmp_path), "--k", "0"]) == 2
    assert "k must be >= 1" in capsys.readouterr().err
    assert main(["memory", "--run", str(tmp_path), "--set", "retrieval.kind=annoy"]) == 2
    assert "valid choices: flat, hnsw, ivf" in capsys.readouterr().err


def test_configuration_doc_is_generated_from_the_docstrings() -> None:
    from agent.cli import config_reference

    doc = (ROOT / "docs" / "configuration.md").read_text()
    assert doc == config_reference(), "run: .venv/bin/python scripts/config_docs.py"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("runner.idle_steps=-1", "runner.idle_steps must be >= 0 (0 = off), got -1"),
        ("runner.stall_steps=-5", "runner.stall_steps must be >= 0 (0 = off), got -5"),
        ("runner.subgoal_budget=0", "runner.subgoal_budget must be >= 1, got 0"),
        ("runner.teacher_sees=all", "unknown runner.teacher_sees 'all'"),
        ("runner.envs=2", "runner.teacher_sees=world labels beside a fair memory"),
        ("controller.explore_gain=-1", "controller.explore_gain must be >= 0 (0 = off)"),
        ("controller.explore_gain_targets=iron,gold", "known for ['gold']; valid targets"),
        ("controller.morning=1.5", "controller.morning must be in [0.0, 1.0], got 1.5"),
        ("controller.drink_low=10", "controller.drink_low must be in [0, 9], got 10"),
        ("controller.rest_health=-1", "controller.rest_health must be in [0, 9], got -1"),
        ("controller.search_cost=0", "controller.search_cost must be >= 1, got 0"),
        ("controller.finish_reach=-2", "controller.finish_reach must be >= 0 (0 = off), got -2"),
        ("controller.open_sleep_daylight=2", "open_sleep_daylight must be in [0.0, 1.0], got 2"),
    ],
)
def test_a_negative_runner_count_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture, key: str, message: str
) -> None:
    out = tmp_path / "run"
    argv = ["run", "--config", "configs/run/demo.yaml", "--set", key, "--out", str(out)]
    if key == "runner.envs=2":
        argv[3:3] = ["--set", "runner.teacher_sees=world"]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
