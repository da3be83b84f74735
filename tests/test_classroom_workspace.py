"""A browser's own work under its durable identity (issue 25, part 5), on SQLite and on a real
PostgreSQL: its run history and saved models survive anything but the database, and a class's
teacher sees every model the class saved."""

from __future__ import annotations

import pytest

from lenet_viz.classroom import (
    MAX_CURVE_POINTS,
    ClassBoard,
    ClassroomError,
    NotAllowed,
    RunRecord,
    new_identity,
)
from lenet_viz.classroom import workspace as workspace_module
from lenet_viz.classroom.publication import flat_settings
from lenet_viz.classroom.workspace import Workspace, kept_run_config
from lenet_viz.figures.classroom import kept_curves, kept_runs_figure
from lenet_viz.nets.config import ModelConfig
from lenet_viz.training.config import TrainConfig


def record(uid: str, accuracy: float = 0.9) -> RunRecord:
    return RunRecord(
        run_uid=uid,
        name=f"run {uid}",
        settings={"activation": "relu", "lr": 0.1},
        curves={"loss": {"x": [0, 1, 2], "y": [2.3, 1.0, 0.5]}},
        train_accuracy=accuracy - 0.02,
        test_accuracy=accuracy,
        duration_seconds=3.0,
    )


def test_a_browsers_runs_come_back_on_another_server_newest_first(board, monkeypatch):
    monkeypatch.setattr(workspace_module, "MAX_PERSONAL_RUNS", 3)
    me, someone_else = new_identity(), new_identity()
    Workspace(board).record_run(me, record("a"))
    Workspace(board).record_run(me, record("a"))  # the same run twice: kept once
    for uid in "bcd":
        Workspace(board).record_run(me, record(uid))
    Workspace(board).record_run(someone_else, record("x"))
    another_server = Workspace(ClassBoard(board.engine))
    assert [run["run_uid"] for run in another_server.runs(me)] == ["d", "c", "b"]  # at most 3
    assert another_server.runs(me)[0]["curves"]["loss"]["y"] == [2.3, 1.0, 0.5]
    assert [run["run_uid"] for run in another_server.runs(someone_else)] == ["x"]


def test_saved_models_belong_to_their_browser_and_the_class_teacher(board):
    workspace = Workspace(board)
    new = board.create_class("Year 11")
    student, stranger = new_identity(), new_identity()
    board.join(new.code, student, "Ada")
    workspace.save_model(student, "relu.pt", b"weights-1", class_code=new.code)
    second = workspace.save_model(student, "relu.pt", b"weights-2", class_code=new.code)
    assert [m.name for m in workspace.saved_models(student)] == ["relu.pt"]  # replaced
    assert workspace.model_bytes(second, identity=student) == b"weights-2"
    with pytest.raises(ClassroomError, match="gone"):
        workspace.model_bytes(second + 1000, identity=student)
    with pytest.raises(NotAllowed):
        workspace.model_bytes(second, identity=stranger)
    [seen] = workspace.class_models(new.code, new.teacher_token)
    assert (seen.name, seen.student) == ("relu.pt", "Ada")
    assert workspace.model_bytes(second, class_code=new.code, teacher_token=new.teacher_token)
    with pytest.raises(NotAllowed):
        workspace.class_models(new.code, "guess")
    board.delete_class(new.code, new.teacher_token)
    assert workspace.saved_models(student) == []  # a deleted class takes its models along


def test_a_browsers_kept_runs_draw_their_stored_curves_and_give_back_their_settings(board):
    config = TrainConfig(model=ModelConfig(activation="sigmoid"), lr=0.1, epochs=3, seed=4)
    me = new_identity()
    first = RunRecord(
        run_uid="t1-0",
        name="sigmoid · SGD · lr 0.1",
        settings=flat_settings(config),
        curves={
            "loss": {"x": list(range(2000)), "y": [2.3 - i / 1000 for i in range(2000)]},
            "test_accuracy": {"x": [1, 2, 3], "y": [0.5, 0.7, 0.8]},
        },
        train_accuracy=0.82,
        test_accuracy=0.8,
        duration_seconds=3.0,
    )
    Workspace(board).record_run(me, first)
    Workspace(board).record_run(me, record("t2-0"))  # no test accuracy curve stored
    kept = Workspace(ClassBoard(board.engine)).runs(me)  # a restart: read from the database

    newest, oldest = kept
    assert kept_curves(oldest)["test_accuracy"] == ([1, 2, 3], [50.0, 70.0, 80.0])
    x, y = kept_curves(oldest)["loss"]
    assert len(x) == len(y) <= MAX_CURVE_POINTS  # thinned when stored
    assert kept_curves(newest)["test_accuracy"] == ([], [])
    fig = kept_runs_figure(kept)
    names = [trace.name for trace in fig.data if trace.showlegend]
    assert names == ["#1 run t2-0", "#2 sigmoid · SGD · lr 0.1"]
    assert [a.text for a in fig.layout.annotations] == [
        "Test accuracy per epoch (%)",
        "Loss per batch",
    ]
    assert list(fig.data[2].y) == [50.0, 70.0, 80.0]  # the second run's test accuracy, in %

    assert kept_run_config(oldest) == config  # its settings, to train it again
    assert kept_run_config({"settings": {"activation": "sigmoid", "lr": 0.1}}).lr == 0.1
    assert kept_run_config({"settings": {"epochs": "many"}}) is None
