"""The class board in the app (issue 25), as AppTests of the real pages on a real SQLite file:
the teacher's Class page, a student joining by the class link, their part preloaded on Train,
a finished run published, the publish toggle, and a database that is down."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lenet_viz.classroom import ClassBoard, RunRecord, new_identity
from lenet_viz.classroom.publication import flat_settings
from lenet_viz.classroom.workspace import Workspace
from lenet_viz.data.datasets import data_available
from lenet_viz.nets.config import ModelConfig
from lenet_viz.training.config import TrainConfig
from tests.apptest_helpers import button, texts
from tests.conftest import fresh_postgres_database, wait_for
from ui.class_board.resources import class_board, class_outbox, workspace
from ui.state import BROWSER_ID

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TRAIN, DRAW, CLASS_PAGE = "pages/train.py", "pages/draw.py", "pages/classroom.py"
TINY = "Tiny: 500 images"
TIMEOUT = 90
PUBLISH_SECONDS = 30

needs_mnist = pytest.mark.skipif(
    not data_available("mnist"), reason="MNIST is not fetched (run `make data`)"
)


def use_database(monkeypatch, url: str) -> ClassBoard:
    """Point the app (this process: AppTests run here) at `url`; the board on it."""
    monkeypatch.setenv("LENET_VIZ_DATABASE_URL", url)
    for resource in (class_board, class_outbox, workspace):
        resource.clear()
    return ClassBoard.from_url(url)


@pytest.fixture
def board(tmp_path, monkeypatch) -> ClassBoard:
    return use_database(monkeypatch, f"sqlite:///{tmp_path / 'board.sqlite'}")


@pytest.fixture(autouse=True)
def fresh_resources():
    """Every test's app gets the board of the database it sets, and no other."""
    yield
    for resource in (class_board, class_outbox, workspace):
        resource.clear()


@pytest.fixture
def apps():
    """AppTests whose trainers are stopped afterwards (never leave a slot taken)."""
    made: list[AppTest] = []
    yield made
    for at in made:
        if "train_trainer" in at.session_state:
            at.session_state["train_trainer"].stop()
            at.session_state["train_trainer"].wait(30)


def app_on(page: str, apps: list, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    apps.append(at)
    at.query_params.update(params)
    at.switch_page(page)
    return rerun(at)


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def param(at: AppTest, name: str) -> str:
    value = at.query_params[name]
    return value[0] if isinstance(value, list) else value


def train_tiny_run(at: AppTest):
    at.selectbox(key="train_opt_size").set_value(TINY)
    rerun(at)
    button(at, "Start").click()
    rerun(at)
    trainer = at.session_state["train_trainer"]
    assert trainer.wait(300), "the Tiny run did not finish in 300 s"
    return trainer


def wait_for_runs(board: ClassBoard, code: str, count: int) -> list[dict]:
    deadline = time.monotonic() + PUBLISH_SECONDS
    while time.monotonic() < deadline:
        runs = board.runs(code)
        if len(runs) >= count:
            return runs
        time.sleep(0.2)
    raise AssertionError(f"{count} runs not on the board after {PUBLISH_SECONDS} s")


def test_the_teacher_creates_a_class_and_gets_its_links(board, apps):
    at = app_on(CLASS_PAGE, apps)
    at.text_input(key="class_new_name").set_value("**Year 11** <b>bold</b>")
    button(at, "Create the class").click()
    rerun(at)
    code, token = param(at, "class"), param(at, "teacher")
    assert board.is_teacher(code, token)
    shown = [element.value for element in at.text]
    assert "**Year 11** <b>bold</b>" in shown  # as text, never Markdown or HTML
    links = [element.value for element in at.code]
    assert any(link.endswith(f"/?class={code}") for link in links)
    assert any(f"teacher={token}" in link for link in links)
    captions = [caption for image in at.get("image") for caption in image.captions]
    assert "The class link" in captions  # its QR code, for the projector
    button(at, "Set the assignments").click()
    rerun(at)
    assert board.info(code).grid == ("activation", "lr")
    assert "4 cells" in texts(at.success)


def test_a_student_joins_by_the_link_and_gets_their_part_on_train(board, apps):
    new = board.create_class("Year 11")
    board.set_assignments(new.code, new.teacher_token, "activation", ["sigmoid"], "lr", [0.1])
    at = app_on(TRAIN, apps, **{"class": new.code})
    assert at.text_input(key="class_display_name").value == "Student 1"
    assert at.selectbox(key="train_opt_activation").value == "sigmoid"
    assert float(at.session_state["train_opt_lr_exact"]) == 0.1
    assert "Your part in the class experiment: activation sigmoid, lr 0.1" in texts(at.info)
    at.text_input(key="class_display_name").set_value("Ada")
    rerun(at)
    assert [m["students"] for m in board.assignments(new.code)] == [["Ada"]]


def test_the_name_field_keeps_the_students_name_across_pages_and_reloads(board, apps):
    new = board.create_class("Year 11")
    at = app_on(TRAIN, apps, **{"class": new.code})
    at.text_input(key="class_display_name").set_value("Ada")
    rerun(at)
    at.switch_page(DRAW)
    rerun(at)
    assert at.text_input(key="class_display_name").value == "Ada"
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a reload: a new session
    apps.append(again)
    again.session_state[BROWSER_ID] = at.session_state[BROWSER_ID]
    again.query_params["class"] = new.code  # AppTest sends no cookie: the link names the class
    again.switch_page(DRAW)
    rerun(again)
    assert again.text_input(key="class_display_name").value == "Ada"


@needs_mnist
def test_a_finished_run_is_published_and_the_toggle_turns_it_off(board, apps):
    new = board.create_class("Year 11")
    student = app_on(TRAIN, apps, **{"class": new.code})
    trainer = train_tiny_run(student)
    [run] = wait_for_runs(board, new.code, 1)
    config = trainer.runs[0].config
    assert run["student"] == "Student 1"
    assert run["settings"]["lr"] == config.lr
    assert run["settings"]["train_limit"] == config.train_limit
    assert run["test_accuracy"] == pytest.approx(trainer.runs[0].final["test_acc"])
    teacher = app_on(CLASS_PAGE, apps, **{"class": new.code, "teacher": new.teacher_token})
    assert "1 runs from 1 students" in texts(teacher.subheader)
    tables = [table.value for table in teacher.dataframe if "student" in table.value.columns]
    assert list(tables[0]["student"]) == ["Student 1"]

    student.toggle(key="class_publish").set_value(False)
    rerun(student)
    second = train_tiny_run(student)
    rerun(student)
    assert second.status == "completed"
    assert wait_for(lambda: len(Workspace(board).runs(student.session_state[BROWSER_ID])) == 2)
    assert len(board.runs(new.code)) == 1  # kept in the student's history, not published


def test_runs_from_earlier_visits_show_their_curves_and_load_their_settings(board, apps):
    """A reload (a new session, the same browser identity) finds the runs it finished before:
    their stored curves on a chart, and a kept run's settings a click away on Train."""
    identity = new_identity()
    kept = TrainConfig(model=ModelConfig(activation="sigmoid"), lr=0.3, epochs=3, batch_size=32)
    Workspace(board).record_run(
        identity,
        RunRecord(
            run_uid="earlier-0",
            name="sigmoid · SGD · lr 0.3",
            settings=flat_settings(kept),
            curves={
                "loss": {"x": [1, 2, 3, 4], "y": [2.3, 1.9, 1.2, 0.8]},
                "test_accuracy": {"x": [1, 2, 3], "y": [0.6, 0.8, 0.9]},
            },
            train_accuracy=0.91,
            test_accuracy=0.9,
            duration_seconds=12.0,
        ),
    )
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    apps.append(at)
    at.session_state[BROWSER_ID] = identity  # the cookie a reloaded page sends
    at.switch_page(TRAIN)
    rerun(at)
    assert at.selectbox(key="train_opt_activation").value == "relu"  # not loaded by itself
    assert any("Your runs from earlier visits (1" in e.label for e in at.expander)
    [figure] = [
        json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.key == "kept_runs_chart"
    ]
    traces = {(t["name"], tuple(t["y"])) for t in figure["data"]}
    assert ("#1 sigmoid · SGD · lr 0.3", (60.0, 80.0, 90.0)) in traces  # test accuracy, in %
    assert ("#1 sigmoid · SGD · lr 0.3", (2.3, 1.9, 1.2, 0.8)) in traces  # the batch loss
    button(at, "Load its settings").click()
    rerun(at)
    assert at.selectbox(key="train_opt_activation").value == "sigmoid"
    assert float(at.session_state["train_opt_lr_exact"]) == 0.3
    assert at.number_input(key="train_opt_epochs").value == 3
    assert "Start trains it again" in texts(at.info)


@needs_mnist
def test_a_browsers_runs_and_saved_models_come_back_and_the_teacher_sees_the_models(
    board, apps, tmp_path, monkeypatch
):
    monkeypatch.setenv("LENET_VIZ_CHECKPOINTS", str(tmp_path / "checkpoints"))
    new = board.create_class("Year 11")
    first_tab = app_on(TRAIN, apps, **{"class": new.code})
    identity = first_tab.session_state[BROWSER_ID]
    train_tiny_run(first_tab)
    rerun(first_tab)
    first_tab.text_input(key="train_save_name").set_value("my_relu.pt")
    button(first_tab, "Save").click()
    rerun(first_tab)
    assert wait_for(lambda: len(Workspace(board).runs(identity)) == 1)

    # A reload, a new tab, or a server restart: a new session, the same browser (its cookie).
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    apps.append(again)
    again.session_state[BROWSER_ID] = identity
    again.switch_page(TRAIN)
    rerun(again)
    assert any("Your runs from earlier visits (1" in e.label for e in again.expander)
    again.switch_page(DRAW)
    rerun(again)
    picker = again.selectbox(key="picked_model")
    kept = [option for option in picker.options if "Saved by you: my_relu.pt" in option]
    assert kept, picker.options
    [saved] = Workspace(board).saved_models(identity)
    picker.set_value(f"kept:{saved.id}")
    rerun(again)
    assert "saved by you earlier" in texts(again.caption) + texts(again.markdown)

    teacher = app_on(CLASS_PAGE, apps, **{"class": new.code, "teacher": new.teacher_token})
    assert "Student 1: my_relu.pt" in texts(teacher.text)


@needs_mnist
def test_a_database_outage_leaves_training_alone_and_runs_are_published_after(
    postgres, monkeypatch, apps
):
    """A real PostgreSQL, stopped while a student opens the class link and trains."""
    board = use_database(monkeypatch, fresh_postgres_database(postgres, "app_outage"))
    new = board.create_class("Year 11")
    postgres.pause()
    try:
        page = app_on(CLASS_PAGE, apps, **{"class": new.code})
        assert "not reachable" in texts(page.error)
        at = app_on(TRAIN, apps, **{"class": new.code})
        assert "not reachable" in texts(at.warning)  # said in the sidebar; the page goes on
        trainer = train_tiny_run(at)
        rerun(at)
        assert trainer.status == "completed"
        deadline = time.monotonic() + PUBLISH_SECONDS
        while not class_outbox().waiting(new.code) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert class_outbox().waiting(new.code) == 1  # kept, not lost
    finally:
        postgres.resume()
    [run] = wait_for_runs(board, new.code, 1)
    assert run["test_accuracy"] == pytest.approx(trainer.runs[0].final["test_acc"])
    board.engine.dispose()
