"""The Train page's settings: the recipes, each net's remembered settings, the widgets and the
TrainConfig they make.
"""

from __future__ import annotations

import streamlit as st

from lenet_viz.data.datasets import SPLIT_SIZES
from lenet_viz.nets.config import POOLINGS, ModelConfig
from lenet_viz.training.augment import AUGMENT_HELP
from lenet_viz.training.config import (
    D2L_PUBLISHED,
    PRESETS,
    SCHEDULES,
    TrainConfig,
    batches_per_epoch,
)
from ui.i18n import N_, _
from ui.library_text import library_text
from ui.runs import settings as widgets
from ui.runs.settings import ARCH_DEFAULT_C3, POOLING_LABELS, RUN_SIZES, run_size_label
from ui.state import PERSIST, default
from ui.train.sdlm_panel import PAPER_RUN_SIZE, paper_init, paper_recipe_button

KEY = "train_opt_"  # the settings widgets' keys
NOTICE = "train_notice"  # (kind, text) to show once, set by a callback
SAVE_NOTICE = "train_save_notice"
PENDING_OVERWRITE = "train_pending_overwrite"  # a file name waiting for "overwrite?" confirmation
SEEN_STATUS = "train_seen_status"  # the trainer status the page was last drawn with
RESULTS = "train_results"  # evaluate_full() results and checkpoint bytes of the finished run
FIGURES = "train_figures"  # the LiveView of the trainer: its figures, updated at each poll
SETTINGS_ARCH = "train_settings_arch"  # the architecture the per-net settings belong to
ARCH_MEMORY = "train_arch_memory"  # {arch: the user's per-net settings}, kept across switches
HISTORY = "train_history"  # this session's earlier runs (Trainers), newest first
SAVED_RUNS = "train_saved_runs"  # ids of the trainers whose model was saved or downloaded
CONFIRM_DISCARD = "train_confirm_discard"  # "start" or "step", waiting for "drop it?"
HISTORY_SIZE = 5  # earlier runs kept, besides the current one
GALLERY_SIZE = 24

ARCH_LABELS = {"modern": N_("Modern (simplified)"), "faithful": N_("Faithful (LeCun 1998)")}
OPTIMIZER_LABELS = {"sgd": "SGD", "adam": "Adam", "sdlm": N_("SDLM (the paper's)")}
# The Train page offers these; "drawn" (stroke digits mixed in) is for `lenet_viz train`: it
# synthesizes 12,000 drawings first, a minute of a shared server's CPU.
PAGE_AUGMENTS = ["none", "shift", "paper"]
SCHEDULE_LABELS = {
    "constant": N_("constant"),
    "onecycle": N_("one-cycle: warm up, then anneal"),
    "paper": N_("the paper's, pass by pass (p.10)"),
    "paper-hold": N_("the paper's, without its last drop (pass 13 on)"),
}
# The modern net's input scaling and initial weights (d2l-zh's recipe sets both).
SCALING_LABELS = {
    "mnist": N_("standardised (MNIST's mean and std)"),
    "unit": N_("0..1 as they are"),
}
DEFAULT_INIT = "pytorch"  # ModelConfig's init None: PyTorch's own
INIT_LABELS = {
    DEFAULT_INIT: N_("PyTorch's default"),
    "xavier": N_("Xavier (Glorot and Bengio 2010)"),
}
# What a recipe sets besides the per-net settings: the modern net's structure and input, and
# for d2l-zh's recipes the dataset and the whole training set.
NET_EXTRAS = ("pooling", "scaling", "init")
D2L_SIZE = "Full: 60,000 images"
DEFAULTS = {
    "dataset": "mnist",
    "arch": "modern",
    "activation": "relu",
    "c3": ARCH_DEFAULT_C3["modern"],
    "pooling": "max",
    "optimizer": "sgd",
    "lr": 0.01,
    "momentum": 0.9,
    "batch_size": 64,
    "epochs": 2,
    "schedule": "constant",
    "augment": "none",
    "seed": 0,
    "size": "Medium: 10,000 images",
    "scaling": "mnist",
    "init": DEFAULT_INIT,
}


# The settings that belong to one architecture: switching nets keeps each net's own choices.
ARCH_SETTINGS = (
    "activation", "c3", "optimizer", "lr", "momentum", "batch_size", "epochs", "schedule"
)  # fmt: skip
# Recipes a learner can pick, per net: (preset, button label, what to notice). "default" is the
# page's DEFAULTS for the modern net; the others are lenet_viz.training.config.PRESETS.
# "{batches}" in a text is the run's number of batches at the chosen run size (`recipe_notice`).
RECIPES = {
    "modern": [
        (
            "default",
            N_("Quick SGD (the default)"),
            N_(
                "SGD, lr 0.01, momentum 0.9, batch 64, 2 epochs: {batches} at this run size. "
                "Notice how fast the loss falls at first, then only slowly."
            ),
        ),
        (
            "fast",
            N_("Fast: Adam, one-cycle"),
            N_(
                "Adam with a one-cycle schedule, batch 256, 3 epochs: about 99 % with the Full "
                "size. Notice the learning rate warming up, then annealing (the loss drops late)."
            ),
        ),
        (
            "seed",
            N_("The notebook's recipe"),
            N_(
                "SGD, lr 0.01, momentum 0.5, batch 32, 1 epoch: {batches} at this run size. Try "
                "it with sigmoid at the Medium size: the net stays stuck near 10 % (a guess) while "
                "ReLU learns (at Quick, ReLU has not learned yet either)."
            ),
        ),
        (
            "d2l",
            N_("d2l-zh's LeNet (动手学深度学习 6.6)"),
            N_(
                "Dive into Deep Learning's LeNet: sigmoid, average pooling, 0..1 pixels, Xavier "
                "weights; Fashion-MNIST, SGD lr 0.9, batch 256, 10 epochs on all 60,000 images "
                "({batches}, a few minutes). The book reports train loss {train_loss}, train "
                "accuracy {train_acc}, test accuracy {test_acc}. Notice the first epoch stuck at "
                "10 %: sigmoid needs that high rate to get going."
            ),
        ),
        (
            "d2l-max-pool",
            N_("d2l-zh exercise: max pooling"),
            N_(
                "The d2l-zh recipe with max pooling instead of average pooling ({batches}). Notice "
                "whether it ends higher than the book's test accuracy {test_acc}."
            ),
        ),
        (
            "d2l-relu",
            N_("d2l-zh exercise: ReLU"),
            N_(
                "The d2l-zh recipe with ReLU instead of sigmoid, at lr 0.1 ({batches}): at the "
                "book's lr 0.9 ReLU's first steps overshoot and it ends at chance. Notice no stuck "
                "first epoch."
            ),
        ),
        (
            "d2l-mnist",
            N_("d2l-zh exercise: MNIST"),
            N_(
                "The d2l-zh recipe on the original MNIST digits instead of Fashion-MNIST "
                "({batches}). Notice how much easier digits are than clothes."
            ),
        ),
    ],
    "faithful": [
        (
            "faithful-fast",
            N_("Fast: Adam, one-cycle (the default)"),
            N_(
                "Adam, lr 0.002, batch 64, 4 epochs. Notice the loss starts near 200, not 2.3: it "
                "is the RBF output's penalty (eq. 9), squared distances to 84-pixel codes."
            ),
        ),
        (
            "paper",
            N_("The paper's: SDLM, one digit per step"),
            N_(
                "SDLM, one digit per step, 20 passes (LeCun et al. 1998, p.10): about a minute of "
                "CPU per pass over all 60,000 digits. Notice how few passes it needs, and the "
                "step sizes per layer below the curves."
            ),
        ),
    ],
}
FAITHFUL_LOSS_NOTE = N_(
    "The faithful net's loss is the paper's RBF criterion (eq. 9): the squared distance of F6's "
    "84 outputs to the right digit's code, so it starts near 200, not near 2.3 as the modern "
    "net's cross-entropy. Compare how it falls, not its size."
)


def recipe_settings(arch: str, preset: str) -> dict:
    """The per-net settings of a recipe (missing ones from the net's own defaults)."""
    model = ModelConfig(arch=arch)
    base = {name: DEFAULTS[name] for name in ARCH_SETTINGS}
    base.update(activation=model.activation, c3=model.c3)
    if preset == "default":
        return base
    recipe = PRESETS[preset]
    base.update({name: recipe[name] for name in ARCH_SETTINGS if name in recipe})
    base["activation"] = recipe.get("activation") or model.activation
    return base


def recipe_notice(arch: str, preset: str, size: str) -> str:
    """What to notice in a recipe, with its number of batches at this run size (a text that
    says "the first hundred batches" of a 64-batch run teaches the wrong thing)."""
    text = next(notice for name, _label, notice in RECIPES[arch] if name == preset)
    values = recipe_settings(arch, preset)
    images = RUN_SIZES[size][0] or SPLIT_SIZES[True]
    batches = batches_per_epoch(images, values["batch_size"]) * values["epochs"]
    count = _("{count} batches").format(count=f"{batches:,}")
    return _(text).format(batches=count, **D2L_PUBLISHED)


def arch_defaults(arch: str) -> dict:
    """Settings that learn on this net: for the faithful net its fast recipe (SGD at lr 0.01,
    momentum 0.9 makes its RBF loss climb from 80 to 200 and end at chance)."""
    return recipe_settings(arch, RECIPES[arch][0][0])


def settings_now() -> dict:
    state = st.session_state
    return {
        name: float(state[KEY + "lr_exact"]) if name == "lr" else state[KEY + name]
        for name in ARCH_SETTINGS
    }


def apply_settings(values: dict) -> None:
    for name, value in values.items():
        if name == "lr":
            widgets.set_learning_rate(KEY + "lr", value)
        else:
            st.session_state[KEY + name] = value


def net_extras(arch: str, preset: str) -> dict:
    """What a recipe sets besides the per-net settings: the modern net's pooling, input scaling
    and initial weights (the recipe's, else the net's own), and d2l-zh's dataset and size."""
    if arch != "modern":
        return {}
    recipe = PRESETS.get(preset, {})
    model = ModelConfig(arch=arch)
    extras = {
        "pooling": recipe.get("pooling", model.pooling),
        "scaling": recipe.get("scaling", model.scaling),
        "init": recipe.get("init") or DEFAULT_INIT,
    }
    if preset.startswith("d2l"):
        extras.update(dataset=recipe["dataset"], size=D2L_SIZE)
    return extras


def apply_recipe(preset: str) -> None:
    """A callback: the recipe's settings for the current net."""
    arch = st.session_state[KEY + "arch"]
    apply_settings(recipe_settings(arch, preset))
    apply_settings(net_extras(arch, preset))


def apply_paper_recipe() -> None:
    """A callback: the faithful net (keeping the modern net's settings, as a switch does), the
    paper's recipe (`--preset paper`) on all 60,000 digits."""
    st.session_state[KEY + "arch"] = "faithful"
    on_arch_change()
    apply_recipe("paper")
    st.session_state[KEY + "size"] = PAPER_RUN_SIZE
    st.session_state[KEY + "seed"] = PRESETS["paper"]["seed"]  # the shipped run's (README)


def restore_settings(config: TrainConfig) -> None:
    """Show `config` in the settings (a reattached or an earlier run, a shared link)."""
    state = st.session_state
    model = config.model
    state[KEY + "dataset"] = config.dataset
    state[KEY + "arch"] = state[SETTINGS_ARCH] = config.model.arch
    apply_settings(
        {
            "activation": model.activation,
            "c3": model.c3,
            "optimizer": config.optimizer,
            "lr": config.lr,
            "momentum": config.momentum,
            "batch_size": config.batch_size,
            "epochs": config.epochs,
            "schedule": config.schedule,
        }
    )
    if config.model.arch == "modern":
        state[KEY + "pooling"] = model.pooling
        state[KEY + "scaling"] = model.scaling
        state[KEY + "init"] = model.init or DEFAULT_INIT
    state[KEY + "seed"] = config.seed
    if config.augment in PAGE_AUGMENTS:  # "drawn" runs come from `lenet_viz train` only
        state[KEY + "augment"] = config.augment
    size = run_size_label(config.train_limit, config.test_limit)
    if size:
        state[KEY + "size"] = size


def optimizer_choices(arch: str) -> list[str]:
    """SGD and Adam; SDLM, the paper's optimizer, only for the faithful net."""
    choices = ["sgd", "adam"]
    if arch == "faithful":
        choices.append("sdlm")
    return choices


def on_arch_change() -> None:
    """Each net keeps its own settings: the user's choices for the net left are remembered, and
    the net chosen gets back the user's earlier choices for it, or its own defaults that learn.
    (Modern with sigmoid -> Faithful -> Modern is sigmoid again.)"""
    state = st.session_state
    arch = state[KEY + "arch"]
    left = state.get(SETTINGS_ARCH) or next(a for a in ARCH_LABELS if a != arch)
    memory = state.setdefault(ARCH_MEMORY, {})
    if left != arch:
        memory[left] = settings_now()
    apply_settings(memory.get(arch) or arch_defaults(arch))
    state[SETTINGS_ARCH] = arch
    if state.get(KEY + "optimizer") not in optimizer_choices(arch):
        state[KEY + "optimizer"] = "sgd"


def structure_settings(arch: str, disabled: bool) -> None:
    """The S2->C3 connection table (both nets) and the pooling (the modern net's)."""
    widgets.c3_select(
        KEY + "c3",
        arch,
        disabled,
        _(
            "Which S2 maps each C3 map sees: all six, or the paper's partial Table I "
            "(LeCun et al. 1998, p.8). Inside LeNet-5 shows the table."
        ),
    )
    if arch == "modern":
        st.radio(
            _("Pooling (S2, S4)"),
            list(POOLINGS),
            key=KEY + "pooling",
            format_func=lambda pooling: _(POOLING_LABELS[pooling]),
            horizontal=True,
            disabled=disabled,
            persist_state=PERSIST,
        )
        input_and_init_settings(disabled)
    else:
        st.caption(_("S2, S4: the paper's trainable subsampling (p.7)."))


def input_and_init_settings(disabled: bool) -> None:
    """The modern net's input pixels and initial weights (d2l-zh's recipe sets both)."""
    st.radio(
        _("Input pixels"),
        list(SCALING_LABELS),
        key=KEY + "scaling",
        format_func=lambda scaling: _(SCALING_LABELS[scaling]),
        horizontal=True,
        disabled=disabled,
        persist_state=PERSIST,
        help=_(
            "Standardised pixels are what most tutorials feed; d2l-zh feeds the 0..1 pixels "
            "as they are, and pads them with zeros, as C1's padding 2 does in the book."
        ),
    )
    st.radio(
        _("Initial weights"),
        list(INIT_LABELS),
        key=KEY + "init",
        format_func=lambda init: _(INIT_LABELS[init]),
        horizontal=True,
        disabled=disabled,
        persist_state=PERSIST,
        help=_(
            "Xavier draws each weight uniformly in ±sqrt(6 / (inputs + outputs)) of its "
            "layer, as d2l-zh's LeNet chapter does."
        ),
    )


def recipe_buttons(arch: str, disabled: bool) -> None:
    """One button per recipe of this net, each with what to notice when it runs."""
    with st.expander(_("Recipes: settings that work on this net")):
        for preset, label, _notice in RECIPES[arch]:
            st.button(
                _(label),
                key=f"train_recipe_{preset}",
                on_click=apply_recipe,
                args=(preset,),
                disabled=disabled,
                width="stretch",
            )
            st.caption(recipe_notice(arch, preset, st.session_state[KEY + "size"]))


def settings(disabled: bool) -> None:
    """The settings widgets; their values live in session_state (read by `current_config`)."""
    for name, value in DEFAULTS.items():
        if name != "lr":
            default(KEY + name, value)
    default(SETTINGS_ARCH, st.session_state[KEY + "arch"])
    paper_recipe_button(disabled, apply_paper_recipe)
    widgets.dataset_radio(KEY + "dataset", disabled, horizontal=True)
    st.radio(
        _("Architecture"),
        list(ARCH_LABELS),
        key=KEY + "arch",
        format_func=lambda arch: _(ARCH_LABELS[arch]),
        horizontal=True,
        on_change=on_arch_change,
        disabled=disabled,
        persist_state=PERSIST,
    )
    arch = st.session_state[KEY + "arch"]
    recipe_buttons(arch, disabled)
    structure_settings(arch, disabled)
    widgets.activation_select(
        KEY + "activation",
        disabled,
        _("The squashing function after each layer. Try sigmoid to see a net get stuck."),
    )
    widgets.optimizer_select(
        KEY + "optimizer",
        optimizer_choices(arch),
        disabled,
        lambda optimizer: _(OPTIMIZER_LABELS[optimizer]),
    )
    widgets.learning_rate_input(KEY + "lr", DEFAULTS["lr"], disabled=disabled)
    widgets.momentum_slider(
        KEY + "momentum",
        st.session_state[KEY + "optimizer"],
        disabled,
        _("How much of the previous step SGD keeps. Only SGD uses it."),
    )
    widgets.batch_size_slider(
        KEY + "batch_size", disabled, _("Images per step. One iteration = one batch.")
    )
    widgets.epochs_input(
        KEY + "epochs", disabled, _("One epoch = one pass over the training images.")
    )
    widgets.seed_input(
        KEY + "seed", disabled, _("Same seed, same initial weights and same batch order.")
    )
    st.selectbox(
        _("Learning-rate schedule"),
        list(SCHEDULES),
        key=KEY + "schedule",
        format_func=lambda schedule: _(SCHEDULE_LABELS[schedule]),
        disabled=disabled,
        persist_state=PERSIST,
    )
    st.selectbox(
        _("Training distortions"),
        PAGE_AUGMENTS,
        key=KEY + "augment",
        format_func=lambda augment: library_text(AUGMENT_HELP[augment]),
        disabled=disabled,
        persist_state=PERSIST,
        help=_(
            "What happens to each training digit before the net sees it. The paper's random "
            "distortions brought LeNet-5's test error from 0.95% to 0.8% (LeCun et al. 1998, "
            "p.10). Train with and without them and compare."
        ),
    )
    widgets.run_size_select(
        KEY + "size",
        disabled,
        _(
            "Quick runs train on the first images only: good for a class. Full uses all 60,000 "
            "training and 10,000 test images."
        ),
    )


def modern_init() -> str | None:
    """The modern net's init setting: None for PyTorch's own, else its name ("xavier")."""
    init = st.session_state[KEY + "init"]
    return None if init == DEFAULT_INIT else init


def current_config() -> TrainConfig:
    """The TrainConfig the settings describe (not validated: Start reports what is wrong)."""
    state = st.session_state
    train_limit, test_limit = RUN_SIZES[state[KEY + "size"]]
    modern = state[KEY + "arch"] == "modern"
    return TrainConfig(
        model=ModelConfig(
            arch=state[KEY + "arch"],
            activation=state[KEY + "activation"],
            c3=state[KEY + "c3"],
            pooling=state[KEY + "pooling"] if modern else None,
            scaling=state[KEY + "scaling"] if modern else None,
            init=modern_init() if modern else paper_init("faithful", state[KEY + "optimizer"]),
        ),
        dataset=state[KEY + "dataset"],
        optimizer=state[KEY + "optimizer"],
        lr=float(state[KEY + "lr_exact"]),
        momentum=float(state[KEY + "momentum"]),
        batch_size=int(state[KEY + "batch_size"]),
        epochs=int(state[KEY + "epochs"]),
        schedule=state[KEY + "schedule"],
        augment=state[KEY + "augment"],
        seed=int(state[KEY + "seed"]),
        train_limit=train_limit,
        test_limit=test_limit,
    )


def apply_link_preset() -> None:
    """A teacher's link, e.g. /train?preset=faithful-fast: the recipe's settings, once."""
    preset = st.query_params.get("preset")
    if not preset:
        return
    del st.query_params["preset"]
    for arch, recipes in RECIPES.items():
        if preset in [name for name, _label, _notice in recipes] and preset != "default":
            st.session_state[KEY + "arch"] = st.session_state[SETTINGS_ARCH] = arch
            apply_settings(recipe_settings(arch, preset))
            apply_settings(net_extras(arch, preset))
            size = st.session_state.get(KEY + "size", DEFAULTS["size"])
            notice = recipe_notice(arch, preset, size)
            st.session_state[NOTICE] = ("info", f"Recipe from the link: {notice}")
            return
    names = ", ".join(name for recipes in RECIPES.values() for name, _label, _notice in recipes)
    st.session_state[NOTICE] = (
        "warning",
        _("The link asks for an unknown recipe {preset}: {names}.").format(
            preset=repr(preset), names=names
        ),
    )
