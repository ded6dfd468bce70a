"""A loop folder records where it trains; resuming it elsewhere says what differs."""

from __future__ import annotations

import json

import pytest

from agent.evolve.environment import FILE, describe, record


def test_a_loop_folder_records_its_environment_and_warns_when_resumed_in_another(tmp_path):
    said: list[str] = []
    record(tmp_path, said.append)
    saved = json.loads((tmp_path / FILE).read_text())
    assert saved == describe() and saved["packages"]["torch"].startswith("2.13.0")
    record(tmp_path, said.append)  # the same machine and packages: silent
    assert said == []
    saved["packages"]["torch"] = "2.0.0"
    (tmp_path / FILE).write_text(json.dumps(saved))
    with pytest.warns(UserWarning, match="another environment"):
        record(tmp_path, said.append)
    assert len(said) == 1 and "packages differ" in said[0]
    assert json.loads((tmp_path / FILE).read_text())["packages"]["torch"] == "2.0.0"  # kept
