"""Data the pages share, cached per server: the test split, a fresh net's description, and
what to say when a dataset is not downloaded yet; and the training backend, warmed up once."""

from __future__ import annotations

import streamlit as st

from lenet_viz.data.datasets import Split, data_available, load_split
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.workers.launch import warm_up
from ui.i18n import N_, _

DATASET_LABELS = {"mnist": N_("MNIST digits"), "fashion-mnist": N_("Fashion-MNIST clothes")}


@st.cache_resource(show_spinner=False)
def model_info(arch: str) -> dict:
    """`model.info()` of a freshly built net: layers, shapes, params, connections."""
    return build_model(ModelConfig(arch=arch)).info()


def dataset_ready(dataset: str) -> bool:
    return data_available(dataset)


def fetch_hint(dataset: str) -> str:
    command = f"`python -m lenet_viz fetch-data --dataset {dataset}`"
    if dataset == "mnist":
        command = _("{make} or {python}").format(make="`make data`", python=command)
    return _(
        "{dataset} is not downloaded yet, so training is off. In a terminal in the project "
        "folder, run {command}, then reload this page."
    ).format(dataset=_(DATASET_LABELS.get(dataset, dataset)), command=command)


@st.cache_resource(show_spinner=False)
def test_split(dataset: str) -> Split:
    """The whole test split (images for the misclassified gallery)."""
    return load_split(dataset, train=False)


@st.cache_resource(show_spinner=False)
def training_warmed_up() -> bool:
    """Once per server: the first worker started and torch's optimizers imported, in the
    background, when a page with a Start button is first opened (lenet_viz.workers.warm_up)."""
    warm_up()
    return True
