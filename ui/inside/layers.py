"""The Inside page's Every-layer view (each layer's maps and C1's kernels, drawn without
Plotly: images and SVG bars), and its views of the S2-C3 table and of the RBF codes."""

from __future__ import annotations

import streamlit as st

from lenet_viz.explain import inside
from lenet_viz.figures import inside as figures
from lenet_viz.figures.c3_table import connection_table_figure, table_comparison_figure
from lenet_viz.nets.model import LeNetBase
from lenet_viz.nets.paper import table_i
from ui.charts import chart, static_chart
from ui.i18n import N_, _

C3_MAP = "inside_c3_map"
TABLE_CHART = "inside_connection_table"
PLAIN = {"displayModeBar": False}

LAYER_NOTES = {
    "C1": N_(
        "6 convolutions of 5x5 over the 32x32 input: each map lights up where its pattern is."
    ),
    "S2": N_("Each C1 map at half the resolution: every unit summarizes a 2x2 window."),
    "C3": N_("16 convolutions of 5x5, each over the S2 maps the connection table gives it."),
    "S4": N_("Each C3 map at half the resolution again."),
    "C5": N_(
        "120 units, each a 5x5 convolution over all 16 S4 maps (so 1x1 maps): one number each."
    ),
    "F6": N_("84 fully connected units."),
}


def layer_caption(summaries: dict, name: str) -> str:
    summary = summaries[name]
    shape = " x ".join(str(size) for size in summary.output_shape)
    note = _(LAYER_NOTES[name]) if name in LAYER_NOTES else ""
    return _(
        "**{name}** · output {shape} · {params} parameters · {connections} connections. {note}"
    ).format(
        name=name,
        shape=shape,
        params=f"{summary.params:,}",
        connections=f"{summary.connections:,}",
        note=note,
    )


def maps_text(layer: str, count: int, columns: int) -> str:
    """The caption (and text alternative) of a layer's picture: which maps, in what order."""
    return _(
        "{layer} maps 0 to {last}, {columns} to a row, left to right, each under its number."
    ).format(layer=layer, last=count - 1, columns=columns)


def show_layers(model: LeNetBase, result: inside.DigitInspection) -> None:
    st.header(_("What every layer sees"))
    st.caption(
        _(
            "Bright (or red) = strong activation; black (or white) = none; blue = negative. "
            "Maps of one layer share one colour scale."
        )
    )
    layers = result.layers
    summaries = {summary.name: summary for summary in model.layer_summary()}
    # A layer and its pooling side by side (one above the other on a phone), each layer one
    # picture about 450 px wide: no narrower than a phone needs to read its numbers.
    with st.container(key="inside_maps"):
        for pair, cell, columns in ((("C1", "S2"), 150, 3), (("C3", "S4"), 120, 4)):
            for name, column in zip(pair, st.columns(2, gap="medium"), strict=True):
                maps = layers[name]
                picture = figures.layer_picture(maps, cell, columns)
                described = maps_text(name, len(maps), columns)
                column.markdown(layer_caption(summaries, name))
                column.image(picture, caption=described, alt=described)  # at most its width
    for name in ("C5", "F6"):
        st.markdown(layer_caption(summaries, name))
        static_chart(
            st.container(key=f"inside_{name}"),
            figures.vector_figure(
                layers[name],
                _("{name}: {count} units").format(name=name, count=len(layers[name])),
            ),
        )
    output = layers["output"]
    if result.output_is_penalty:
        title = _("Output: 10 RBF penalties (the smallest wins)")
        y_title = _("penalty")
    else:
        title = _("Output: 10 scores (logits; the largest wins)")
        y_title = _("score")
    st.markdown(
        _("**Output** · the prediction is **{prediction}** ({probability} after softmax).").format(
            prediction=result.prediction,
            probability=f"{result.probabilities[result.prediction]:.0%}",
        )
    )
    static_chart(
        st.container(key="inside_output"),
        figures.vector_figure(
            output,
            title,
            labels=[str(d) for d in range(10)],
            highlight=result.prediction,
            y_title=y_title,
        ),
    )


def show_kernels(model: LeNetBase) -> None:
    st.header(_("C1's six kernels"))
    st.caption(
        _(
            "The 5x5 weights each C1 map slides over the input. Red weights add the pixel under "
            "them, blue ones subtract it: a kernel with a red band next to a blue band finds edges."
        )
    )
    kernels = inside.c1_kernels(model)
    picture = figures.layer_picture(kernels, 150, 3, signed=True)
    described = _(
        "C1's kernels 0 to {last}, 3 to a row, left to right, each under its number."
    ).format(last=len(kernels) - 1)
    st.image(picture, caption=described, alt=described)  # at most its own width


def _select_from_table() -> None:
    """A click on the table chooses that column's C3 map."""
    event = st.session_state.get(TABLE_CHART)
    points = event.selection.points if event is not None else []
    if points:
        st.session_state[C3_MAP] = int(points[0]["x"])


@st.fragment
def show_connection_table(model: LeNetBase, result: inside.DigitInspection) -> None:
    """A fragment: choosing a C3 map (in the list or on the table) reruns this part only."""
    st.header(_("S2 → C3: which maps feed which"))
    table = model.connection_table()
    arithmetic = inside.c3_arithmetic(table)
    full = arithmetic.total == inside.c3_arithmetic([[1] * 16] * 6).total
    st.markdown(
        _("Each C3 map looks at some of the six S2 maps, through one 5x5 kernel per map it sees.")
        + " "
        + (
            _("This net connects **every** S2 map to every C3 map (a full table).")
            if full
            else _(
                "This net uses the paper's **Table I** (LeCun et al. 1998, p.8): maps 0-5 see "
                "3 neighbouring S2 maps, 6-11 see 4, 12-14 see 4 non-neighbouring ones, 15 sees "
                "all 6. Breaking the symmetry makes the maps learn different features, and it "
                "saves parameters."
            )
        )
    )
    if C3_MAP not in st.session_state:
        st.session_state[C3_MAP] = 0
    chooser, note = st.columns([1, 3], vertical_alignment="bottom")
    c3_map = chooser.selectbox(_("C3 map"), list(range(16)), key=C3_MAP)
    note.caption(_("Pick a C3 map here, or click a column of the table."))
    chart(
        st,
        connection_table_figure(table, selected=c3_map),
        key=TABLE_CHART,
        on_select=_select_from_table,
        selection_mode="points",
        config=PLAIN,
    )
    opened = inside.c3_map_inputs(model, result, c3_map)
    inputs = ", ".join(str(i) for i in opened.inputs)
    st.markdown(
        _(
            "**C3 map {c3_map}** sees S2 maps **{inputs}**: it is the sum of each of them "
            "convolved with its own 5x5 kernel, plus a bias ({bias}), then the activation."
        ).format(c3_map=c3_map, inputs=inputs, bias=f"{opened.bias:+.3f}")
    )
    chart(
        st,
        figures.c3_breakdown_figure(
            opened.s2_maps,
            opened.kernels,
            opened.contributions,
            opened.inputs,
            c3_map,
            opened.pre_activation,
            opened.output,
        ),
        key="inside_c3_breakdown",
        config=PLAIN,
    )
    st.markdown(_("**C3's parameters, counted from the table** (one bias per map):"))
    st.code(f"C3 = {arithmetic.formula()}", language=None, wrap_lines=True)


def show_table_against_paper(model: LeNetBase) -> None:
    st.header(_("A full table against the paper's Table I"))
    table = model.connection_table()
    full = [[1] * 16 for _ in range(6)]
    left, right = st.columns(2)
    mine = inside.compare_tables(table)
    chart(
        left,
        table_comparison_figure(
            inside.compare_tables(full).cells, _("Full table: every S2 map feeds every C3 map")
        ),
        key="inside_full_table",
        config=PLAIN,
    )
    chart(
        right,
        table_comparison_figure(
            inside.compare_tables(table_i()).cells, _("Table I (LeCun et al. 1998, p.8)")
        ),
        key="inside_paper_table",
        config=PLAIN,
    )
    st.code(
        _("Full table: C3 = {full}\nTable I:    C3 = {table_i}").format(
            full=inside.c3_arithmetic(full).formula(),
            table_i=inside.c3_arithmetic(table_i()).formula(),
        ),
        language=None,
        wrap_lines=True,
    )
    st.caption(_("Columns are the 16 C3 maps, rows the 6 S2 maps."))
    extra = inside.compare_tables(full).count("extra")
    saved = inside.c3_arithmetic(full).total - inside.c3_arithmetic(table_i()).total
    which = _("the paper's Table I") if mine.identical else _("a full table")
    st.markdown(
        _(
            "Red **+** marks the {extra} connections a full table has and Table I does not: "
            "{extra} kernels of 25 weights, **{saved} parameters** more. The model you picked "
            "uses **{which}**."
        ).format(extra=extra, saved=f"{saved:,}", which=which)
    )


def show_rbf(model: LeNetBase, result: inside.DigitInspection) -> None:
    st.header(_("The RBF output codes"))
    if not result.output_is_penalty:
        st.info(
            _(
                "The faithful 1998 net ends with ten RBF units whose fixed weights are 7x12 "
                "pictures of the digits (Fig. 3, p.9). This model ends with an ordinary linear "
                "layer instead; pick the faithful net above to see its codes."
            ),
            icon=":material/info:",
        )
        return
    bitmaps = inside.rbf_code_bitmaps()
    st.markdown(
        _(
            "Each output unit holds a fixed 7x12 picture of its digit (+1 black, −1 white) and "
            "outputs the squared distance between it and F6's 84 outputs (eq. 7, p.9). The "
            "prediction is the closest code."
        )
    )
    chart(
        st,
        figures.rbf_codes_figure(bitmaps, highlight=result.prediction),
        key="inside_rbf_codes",
        config=PLAIN,
    )
    digit = result.prediction
    st.markdown(
        _("F6's output for this digit next to the code of **{digit}**, its closest:").format(
            digit=digit
        )
    )
    middle = st.columns([1, 2, 1])[1]
    chart(
        middle,
        figures.f6_against_code_figure(
            inside.f6_bitmap(result.layers["F6"]), bitmaps[digit], digit
        ),
        key="inside_f6_code",
        config=PLAIN,
    )
