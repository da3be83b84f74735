"""A figure's traces as plain values: what the SVG draws of each (`figure.to_dict()`,
whose arrays may be Plotly's base64 typed arrays)."""

from __future__ import annotations

import base64

import numpy as np


def as_array(data) -> np.ndarray:
    """A trace's array as numpy: a list, or Plotly's typed array ({dtype, bdata[, shape]}),
    as `to_dict()` writes numpy arrays."""
    if isinstance(data, dict) and "bdata" in data:
        values = np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"]))
        if data.get("shape"):
            values = values.reshape([int(n) for n in str(data["shape"]).split(",")])
        return values
    return np.asarray(data if data is not None else [])


def read_trace(trace: dict) -> dict:
    """What is drawn of a trace (from the figure's dict), as plain values."""
    kind = trace.get("type", "scatter")
    if kind == "heatmap":
        return {
            "type": "heatmap",
            "z": as_array(trace.get("z")).astype(np.float32),
            "colorscale": [(float(at), color) for at, color in trace["colorscale"]],
            "zmin": trace.get("zmin"),
            "zmax": trace.get("zmax"),
        }
    if kind == "scatter":
        return read_scatter(trace)
    if kind != "bar":
        return {"type": kind}
    color = (trace.get("marker") or {}).get("color")
    return {
        "type": "bar",
        "x": [str(x) for x in as_array(trace.get("x")).tolist()],
        "y": [float(y) for y in as_array(trace.get("y")).tolist()],
        "marker": {"color": list(color) if isinstance(color, (list, tuple)) else color},
        "hovertemplate": trace.get("hovertemplate"),
    }


PLOTLY_COLORS = ("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692")


def read_scatter(trace: dict) -> dict:
    """A scatter trace's points (x and y as float arrays, NaN for gaps) and looks."""

    def floats(values) -> np.ndarray:
        return np.array(as_array(values), dtype=np.float64)  # None -> NaN

    y = floats(trace.get("y"))
    x = floats(trace.get("x")) if trace.get("x") is not None else np.arange(len(y), dtype=float)
    line, marker = trace.get("line") or {}, trace.get("marker") or {}
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "xaxis": trace.get("xaxis") or "x",
        "yaxis": trace.get("yaxis") or "y",
        "mode": trace.get("mode") or ("lines+markers" if len(y) < 20 else "lines"),
        "name": trace.get("name") or "",
        "showlegend": trace.get("showlegend"),
        "color": line.get("color") or single_value(marker.get("color")),
        "line_width": line.get("width") if line.get("width") is not None else 2,
        "dash": line.get("dash") or "solid",
        "opacity": trace.get("opacity"),
        "marker_size": single_value(marker.get("size")) or 6,
        "hovertemplate": trace.get("hovertemplate"),
        "hover": trace.get("hoverinfo") != "skip",
    }


def single_value(value):
    """A marker property that is one value, or None where it is one per point."""
    return None if isinstance(value, (list, tuple, np.ndarray)) else value
