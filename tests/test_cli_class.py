"""`lenet-viz class create` and `lenet-viz class export` (issue 25), on a real SQLite file."""

from __future__ import annotations

import json

import pytest

from lenet_viz.classroom import ClassBoard, RunRecord, new_identity
from lenet_viz.cli import main


@pytest.fixture
def database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'board.sqlite'}"
    monkeypatch.setenv("LENET_VIZ_DATABASE_URL", url)
    return url


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_prints_the_code_link_and_teacher_token(database, capsys):
    code, out, _ = run_cli(
        capsys, "class", "create", "--name", "Year 11", "--json", "--base-url", "http://school:8501"
    )
    assert code == 0
    made = json.loads(out)
    assert {"code", "link", "teacher_token"} <= set(made)
    assert made["link"] == f"http://school:8501/?class={made['code']}"
    board = ClassBoard.from_url(database)
    assert board.info(made["code"]).name == "Year 11"
    assert board.is_teacher(made["code"], made["teacher_token"])


def test_export_prints_every_run_with_its_settings_and_accuracies(database, capsys):
    _, out, _ = run_cli(capsys, "class", "create", "--name", "Year 11", "--json")
    class_code = json.loads(out)["code"]
    board = ClassBoard.from_url(database)
    student = new_identity()
    board.join(class_code, student, "Ada")
    published = RunRecord(
        run_uid="r1",
        name="sigmoid lr 0.1",
        settings={"activation": "sigmoid", "lr": 0.1},
        curves={"loss": {"x": [0, 1], "y": [2.3, 1.1]}},
        train_accuracy=0.81,
        test_accuracy=0.83,
        duration_seconds=4.0,
    )
    board.publish(class_code, student, published)
    code, out, _ = run_cli(capsys, "class", "export", class_code, "--json")
    assert code == 0
    [run] = json.loads(out)
    assert run["student"] == "Ada"
    assert run["settings"] == published.settings
    assert (run["train_accuracy"], run["test_accuracy"]) == (0.81, 0.83)
    code, out, _ = run_cli(capsys, "class", "export", class_code)
    assert "Ada" in out and "83.00%" in out


def test_an_unknown_class_is_one_error_line(database, capsys):
    code, _, err = run_cli(capsys, "class", "export", "NOSUCHCODE")
    assert code == 2
    assert err.startswith("error: no class with code")
