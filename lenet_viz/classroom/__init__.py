"""The class board: a teacher's class link pools every student's finished runs on one board,
stored in a real database (SQLite under data/ by default, PostgreSQL when
LENET_VIZ_DATABASE_URL is set). No Streamlit here: the Class page and the CLI call this.
"""

from lenet_viz.classroom.board import (
    ClassBoard,
    ClassClosed,
    ClassFull,
    ClassInfo,
    ClassLimits,
    ClassNotFound,
    ClassroomError,
    NewClass,
    NotAllowed,
    RunRecord,
    Student,
    TooManyRuns,
    class_link,
    new_identity,
    teacher_link,
)
from lenet_viz.classroom.database import StorageUnavailable, database_url
from lenet_viz.classroom.grid import MAX_CURVE_POINTS, Cell, PooledGrid, bounded_curve, pooled_grid

__all__ = [
    "MAX_CURVE_POINTS",
    "Cell",
    "ClassBoard",
    "ClassClosed",
    "ClassFull",
    "ClassInfo",
    "ClassLimits",
    "ClassNotFound",
    "ClassroomError",
    "NewClass",
    "NotAllowed",
    "PooledGrid",
    "RunRecord",
    "StorageUnavailable",
    "Student",
    "TooManyRuns",
    "bounded_curve",
    "class_link",
    "database_url",
    "new_identity",
    "pooled_grid",
    "teacher_link",
]
