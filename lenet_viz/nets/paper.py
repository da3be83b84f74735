"""The paper's data tables, kept in the package as text (read from LeCun et al. 1998).

- Table I (p.8): which S2 maps feed each C3 map.
- Fig. 3 (p.9): the ten fixed 7x12 bitmaps that are the RBF output units' parameters.
"""

from functools import cache
from importlib import resources


def _read_rows(filename: str) -> list[list[int]]:
    text = resources.files("lenet_viz.nets").joinpath("paper_tables", filename).read_text()
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rows.append([int(value) for value in line.split()])
    return rows


@cache
def table_i() -> tuple[tuple[int, ...], ...]:
    """Table I as 6 rows (S2 maps) x 16 columns (C3 maps), 1 = connected."""
    return tuple(tuple(row) for row in _read_rows("table1_s2_to_c3.txt"))


@cache
def rbf_codes() -> tuple[tuple[int, ...], ...]:
    """Ten rows (digits 0-9) of 84 values +1/-1: a 7-wide x 12-high bitmap, row-major, +1 = ink."""
    return tuple(tuple(row) for row in _read_rows("rbf_digit_codes.txt"))


RBF_BITMAP_SHAPE = (12, 7)  # (height, width) of one code drawn as a bitmap, Fig. 3
