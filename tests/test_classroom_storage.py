"""The class board's storage (issue 25), on SQLite and on a real PostgreSQL server: classes and
their secrets, students, publishing, who may remove what, limits, assignments, the pooled
experiment, retention, migrations, two servers on one database, and an outage."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import make_url, text

from lenet_viz.classroom import (
    MAX_CURVE_POINTS,
    ClassBoard,
    ClassClosed,
    ClassFull,
    ClassNotFound,
    ClassroomError,
    NotAllowed,
    RunRecord,
    StorageUnavailable,
    TooManyRuns,
    new_identity,
)
from lenet_viz.classroom.board import now_utc
from lenet_viz.classroom.database import alembic_config, make_engine, migrate
from lenet_viz.classroom.outbox_file import OutboxFile, Pending, outbox_path
from lenet_viz.classroom.publication import Outbox
from lenet_viz.classroom.schema import NAME_LENGTH, Base
from tests.conftest import fresh_postgres_database


def record(uid: str, test_accuracy: float = 0.9, points: int = 50, **settings) -> RunRecord:
    settings = {"activation": "relu", "lr": 0.1, **settings}
    return RunRecord(
        run_uid=uid,
        name=f"run {uid}",
        settings=settings,
        curves={"loss": {"x": list(range(points)), "y": [1.0 / (i + 1) for i in range(points)]}},
        train_accuracy=test_accuracy - 0.01,
        test_accuracy=test_accuracy,
        duration_seconds=2.5,
    )


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.now = now_utc()

    def __call__(self):
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def with_clock(board: ClassBoard) -> tuple[ClassBoard, Clock]:
    clock = Clock()
    return ClassBoard(board.engine, board.limits, clock=clock), clock


# ------------------------------------------------------------------ classes and secrets


def test_class_codes_are_random_and_the_teacher_token_is_a_separate_secret(board):
    first, second = board.create_class("Year 11"), board.create_class("Year 12")
    assert first.code != second.code
    assert len(first.code) * 5 >= 64  # base32: 5 bits a character
    assert first.teacher_token not in (first.code, second.teacher_token)
    assert first.link("http://host") == f"http://host/?class={first.code}"
    assert first.teacher_token in first.teacher_link("http://host")
    assert board.is_teacher(first.code, first.teacher_token)
    assert not board.is_teacher(first.code, second.teacher_token)
    assert not board.is_teacher(first.code, first.code)
    with board.engine.connect() as connection:
        stored = connection.execute(text("SELECT teacher_token_hash FROM classes")).scalars().all()
    assert first.teacher_token not in stored  # only its hash is kept


def test_an_unknown_code_says_what_to_do(board):
    with pytest.raises(ClassNotFound, match="check the link"):
        board.join("NOSUCHCLASS", new_identity())
    with pytest.raises(ClassroomError, match="name"):
        board.create_class("   ")


def test_students_get_default_names_and_keep_their_identity(board):
    code = board.create_class("Year 11").code
    alice, bob = new_identity(), new_identity()
    assert board.join(code, alice).display_name == "Student 1"
    assert board.join(code, bob).display_name == "Student 2"
    again = board.join(code, alice, "Alice")  # the same browser, now with a name
    assert again.display_name == "Alice"
    assert board.info(code).member_count == 2
    assert board.student(code, new_identity()) is None


def test_names_are_limited_and_kept_as_plain_text(board):
    code = board.create_class("**Bold** <script>alert(1)</script>").code
    student = board.join(code, new_identity(), "x" * 500)
    assert len(student.display_name) == NAME_LENGTH
    # Stored verbatim (the page shows it as text): never interpreted, never silently changed.
    assert board.info(code).name.startswith("**Bold** <script>")
    assert board.join(code, new_identity(), "a\nb\tc").display_name == "a b c"


# ------------------------------------------------------------------ publishing


def test_a_published_run_keeps_settings_bounded_curves_and_accuracies(board):
    code = board.create_class("Year 11").code
    student = new_identity()
    board.join(code, student, "Ada")
    long = record("r1", points=5000)
    board.publish(code, student, long)
    [run] = board.runs(code)
    curve = run["curves"]["loss"]
    assert len(curve["x"]) == MAX_CURVE_POINTS == len(curve["y"])
    assert (curve["x"][0], curve["x"][-1]) == (0, 4999)  # the whole curve, thinned
    assert run["student"] == "Ada"
    assert run["settings"] == long.settings
    assert run["test_accuracy"] == pytest.approx(long.test_accuracy)
    [exported] = board.export(code)
    assert "curves" not in exported
    assert exported["train_accuracy"] == pytest.approx(long.train_accuracy)
    assert exported["duration_seconds"] == pytest.approx(long.duration_seconds)


def test_publishing_the_same_run_twice_stores_it_once(board):
    code = board.create_class("Year 11").code
    student = new_identity()
    board.join(code, student)
    first = board.publish(code, student, record("same"))
    assert board.publish(code, student, record("same")) == first
    assert board.version(code) == (1, first)


def test_publishing_from_a_browser_that_had_not_joined_joins_it(board):
    """(It opened the class link while the database was down.)"""
    code = board.create_class("Year 11").code
    board.join(code, new_identity())
    late = new_identity()
    board.publish(code, late, record("r"))
    assert board.runs(code)[0]["student"] == "Student 2"
    assert board.student(code, late).display_name == "Student 2"


def test_a_student_cannot_remove_another_students_run(board):
    new = board.create_class("Year 11")
    alice, bob = new_identity(), new_identity()
    board.join(new.code, alice)
    board.join(new.code, bob)
    alices = board.publish(new.code, alice, record("a"))
    bobs = board.publish(new.code, bob, record("b"))
    with pytest.raises(NotAllowed):
        board.remove_run(new.code, alices, identity=bob)
    with pytest.raises(NotAllowed):
        board.remove_run(new.code, alices, token="not the token")
    board.remove_run(new.code, alices, identity=alice)  # their own
    board.remove_run(new.code, bobs, token=new.teacher_token)  # the teacher
    assert board.runs(new.code) == []


# ------------------------------------------------------------------ limits


def test_runs_per_student_per_minute_are_limited(board):
    board, clock = with_clock(board)  # the fixture's limits: 3 a minute, 5 a class
    code = board.create_class("Year 11").code
    student = new_identity()
    board.join(code, student)
    for uid in "abc":
        board.publish(code, student, record(uid))
    with pytest.raises(TooManyRuns, match="a minute"):
        board.publish(code, student, record("d"))
    clock.advance(seconds=61)
    board.publish(code, student, record("d"))


def test_a_class_holds_at_most_its_number_of_runs(board):
    board, clock = with_clock(board)
    code = board.create_class("Year 11").code
    student = new_identity()
    board.join(code, student)
    for i in range(board.limits.max_runs):
        clock.advance(minutes=1)
        board.publish(code, student, record(f"r{i}"))
    with pytest.raises(ClassFull, match="full"):
        board.publish(code, student, record("one more"))


def test_a_closed_class_takes_no_runs_and_only_the_teacher_closes_it(board):
    new = board.create_class("Year 11")
    student = new_identity()
    board.join(new.code, student)
    with pytest.raises(NotAllowed, match="teacher"):
        board.close_class(new.code, "guess")
    board.close_class(new.code, new.teacher_token)
    assert board.info(new.code).closed
    with pytest.raises(ClassClosed):
        board.publish(new.code, student, record("late"))
    board.close_class(new.code, new.teacher_token, closed=False)
    board.publish(new.code, student, record("late"))


def test_classes_expire_after_their_retention_days(board):
    board, clock = with_clock(board)
    code = board.create_class("Year 11").code
    clock.advance(days=board.limits.retention_days, seconds=1)
    with pytest.raises(ClassNotFound):
        board.info(code)
    assert board.expire() == 1


def test_the_teacher_deletes_a_class_with_everything_in_it(board):
    new = board.create_class("Year 11")
    student = new_identity()
    board.join(new.code, student)
    board.publish(new.code, student, record("r"))
    with pytest.raises(NotAllowed):
        board.delete_class(new.code, "guess")
    board.delete_class(new.code, new.teacher_token)
    with pytest.raises(ClassNotFound):
        board.runs(new.code)
    with board.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM runs")).scalar() == 0


# ------------------------------------------------------------------ assignments and the pooled grid


def test_students_fill_the_assignments_grid_in_order(board):
    new = board.create_class("Year 11")
    early = new_identity()
    board.join(new.code, early)  # joined before the grid was set
    activations, rates = ["relu", "sigmoid"], [0.1, 0.01]
    with pytest.raises(NotAllowed):
        board.set_assignments(new.code, "guess", "activation", activations, "lr", rates)
    cells = board.set_assignments(
        new.code, new.teacher_token, "activation", activations, "lr", rates
    )
    assert cells == 4
    given = [board.student(new.code, early).assignment]
    given += [board.join(new.code, new_identity()).assignment for _ in range(cells)]
    expected = [{"activation": a, "lr": r} for a in activations for r in rates]
    assert given == expected + expected[:1]  # every cell once, then a second round
    grid = board.assignments(new.code)
    assert [len(cell["students"]) for cell in grid] == [2, 1, 1, 1]
    assert board.info(new.code).grid == ("activation", "lr")
    teacher = board.join(new.code, new_identity(), teacher_token=new.teacher_token)
    assert (teacher.display_name, teacher.assignment) == ("Teacher", None)  # takes no cell
    assert board.join(new.code, new_identity()).display_name == "Student 6"


def test_the_pooled_grid_has_each_cells_mean_and_spread(board):
    board, clock = with_clock(board)
    board.limits = type(board.limits)(max_runs=100, runs_per_minute=100)
    code = board.create_class("Year 11").code
    accuracies = {
        ("relu", 0.1): [0.97, 0.95, 0.96],
        ("sigmoid", 0.1): [0.6, 0.8],
        ("relu", 0.01): [0.9],
    }
    for (activation, lr), values in accuracies.items():
        for i, value in enumerate(values):
            student = new_identity()
            board.join(code, student)
            board.publish(
                code, student, record(f"{activation}{lr}{i}", value, activation=activation, lr=lr)
            )
    grid = board.pooled(code, "activation", "lr")
    assert grid.row_values == ["relu", "sigmoid"]
    assert grid.column_values == [0.01, 0.1]
    for key, values in accuracies.items():
        cell = grid.cell(*key)
        assert cell.count == len(values)
        assert cell.mean == pytest.approx(statistics.fmean(values))
        assert cell.spread == pytest.approx(statistics.stdev(values) if len(values) > 1 else 0.0)
    assert grid.cell("sigmoid", 0.01) is None


# ------------------------------------------------------------------ the database itself


def test_the_migrated_schema_matches_the_models_and_migrates_down_and_up(board_database_url):
    engine = make_engine(board_database_url)
    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    config = alembic_config(engine)
    command.downgrade(config, "base")
    with engine.connect() as connection:
        assert "classes" not in connection.dialect.get_table_names(connection)
    command.upgrade(config, "head")
    board = ClassBoard(engine)
    assert board.info(board.create_class("again").code).run_count == 0
    engine.dispose()


def test_two_servers_on_one_database_share_the_board(board_database_url):
    """Two boards with their own engines (two app servers) on one database."""
    first, second = ClassBoard.from_url(board_database_url), ClassBoard.from_url(board_database_url)
    new = first.create_class("Year 11")
    student = new_identity()
    second.join(new.code, student, "Ada")
    second.publish(new.code, student, record("r"))
    assert [run["student"] for run in first.runs(new.code)] == ["Ada"]
    first.remove_run(new.code, first.runs(new.code)[0]["id"], token=new.teacher_token)
    assert second.runs(new.code) == []
    first.engine.dispose()
    second.engine.dispose()


def test_an_outage_is_reported_and_the_outbox_publishes_when_the_database_is_back(postgres):
    board = ClassBoard.from_url(fresh_postgres_database(postgres, "outage"))
    code = board.create_class("Year 11").code
    student = new_identity()
    board.join(code, student)
    outbox = Outbox(board, retry_seconds=0.2)
    postgres.pause()
    try:
        with pytest.raises(StorageUnavailable, match="not reachable"):
            board.runs(code)
        assert not outbox.publish(code, student, record("during the outage"))
        assert outbox.waiting(code) == 1
    finally:
        postgres.resume()
    deadline = time.monotonic() + 30
    while outbox.waiting() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [run["name"] for run in board.runs(code)] == ["run during the outage"]
    board.engine.dispose()


def test_runs_waiting_through_an_outage_survive_a_server_restart(postgres, tmp_path):
    """A run kept while the database is down is in the outbox's file; a server restarted during
    the outage (a new Outbox on the same file) publishes it when the database is back, once."""
    url = fresh_postgres_database(postgres, "outage_restart")
    board = ClassBoard.from_url(url)
    code = board.create_class("Year 11").code
    student = new_identity()
    board.join(code, student)
    path = tmp_path / "classroom.outbox.jsonl"
    stopped = Outbox(board, retry_seconds=3600, path=path)  # the server that stops
    postgres.pause()
    try:
        assert not stopped.publish(code, student, record("kept on disk", points=2000))
        assert [p.record.run_uid for p in OutboxFile(path).read()] == ["kept on disk"]
        restarted = Outbox(ClassBoard.from_url(url), retry_seconds=0.2, path=path)
        assert restarted.waiting(code) == 1  # read back from the file
    finally:
        postgres.resume()
    deadline = time.monotonic() + 30
    while restarted.waiting() and time.monotonic() < deadline:
        time.sleep(0.2)
    [run] = board.runs(code)
    assert run["name"] == "run kept on disk"
    assert len(run["curves"]["loss"]["x"]) <= MAX_CURVE_POINTS
    assert not path.exists()  # nothing waits any more
    assert stopped.flush() == 0  # the old server's copy, published again: still once
    assert len(board.runs(code)) == 1
    assert Outbox(board, path=path).waiting() == 0
    board.engine.dispose()
    restarted.board.engine.dispose()


def test_the_outbox_file_is_private_shared_and_skips_what_it_cannot_read(tmp_path):
    path = tmp_path / "classroom.outbox.jsonl"
    assert outbox_path(make_url(f"sqlite:///{tmp_path / 'classroom.sqlite'}")) == path
    elsewhere = outbox_path(make_url("postgresql+psycopg://ada:secret@db.example/class"))
    assert "secret" not in str(elsewhere) and elsewhere.name.endswith(".outbox.jsonl")
    one, two = OutboxFile(path), OutboxFile(path)  # two server processes, one data folder
    one.update(add=[Pending("CODE", "me", record("a"))])
    two.update(add=[Pending("CODE", "you", record("b")), Pending("CODE", "me", record("a"))])
    with path.open("a", encoding="utf-8") as file:
        file.write('{"half a line\n')
    one.update(remove=[("CODE", "a")])
    assert [(p.identity, p.record) for p in two.read()] == [("you", record("b"))]
    assert path.stat().st_mode & 0o077 == 0  # identities are secrets: this user's only
    two.update(remove=[("CODE", "b")])
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary or lock file left
