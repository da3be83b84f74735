"""lenet_viz.training.config: TrainConfig holds a ModelConfig; flat settings (presets, CLI flags,
the
checkpoints saved before the nesting) still read; one check for every setting picked from a list."""

import dataclasses

import pytest

from lenet_viz.checkpoints.store import (
    DEFAULT_CHECKPOINT_NAMES,
    REPO_CHECKPOINT_DIR,
    load_checkpoint,
)
from lenet_viz.nets.config import ConfigError, ModelConfig, check_choice
from lenet_viz.training.config import (
    OPTIMIZERS,
    PRESETS,
    TrainConfig,
    describe,
    preset_config,
    setting,
)
from lenet_viz.training.cpu import cpu_flags, native_bfloat16


def test_a_train_config_holds_its_model_config_and_declares_no_model_field_itself():
    model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert not model_fields & train_fields
    config = TrainConfig(model=ModelConfig(arch="faithful"), lr=0.1)
    assert config.model.activation == "lecun_tanh" and config.model.c3 == "paper"
    assert TrainConfig().model == ModelConfig()


def test_to_dict_nests_the_model_and_from_dict_reads_it_back():
    config = TrainConfig(model=ModelConfig(activation="sigmoid", c3="paper"), batch_size=32)
    values = config.to_dict()
    assert values["model"]["activation"] == "sigmoid" and "activation" not in values
    assert TrainConfig.from_dict(values) == config


def test_flat_settings_of_old_checkpoints_still_read():
    """Checkpoints saved before the model was nested keep a flat train_config."""
    old = {
        "arch": "faithful",
        "activation": None,
        "pooling": None,
        "c3": None,
        "resize": "pad",
        "rbf_j": 1.0,
        "dataset": "mnist",
        "optimizer": "adam",
        "lr": 0.002,
        "batch_size": 64,
        "epochs": 20,
        "schedule": "onecycle",
        "augment": "shift",
        "seed": 0,
        "train_limit": None,
        "a_field_from_the_future": 1,
    }
    config = TrainConfig.from_dict(old)
    assert config.model == ModelConfig(arch="faithful")
    assert (config.optimizer, config.lr, config.epochs, config.augment) == (
        "adam",
        0.002,
        20,
        "shift",
    )
    assert setting(old, "arch") == setting(config.to_dict(), "arch") == "faithful"
    assert setting(config.to_dict(), "lr") == 0.002 and setting(old, "nothing") is None


@pytest.mark.parametrize("arch", sorted(DEFAULT_CHECKPOINT_NAMES))
def test_the_shipped_checkpoints_load_and_their_settings_read(arch):
    loaded = load_checkpoint(REPO_CHECKPOINT_DIR / DEFAULT_CHECKPOINT_NAMES[arch])
    config = TrainConfig.from_dict(loaded.metadata["train_config"]).validate()
    assert config.model.arch == loaded.config.arch == arch
    assert config.model == loaded.config


def test_one_check_for_a_choice_and_its_message_lists_the_choices():
    check_choice("optimizer", "adam", OPTIMIZERS)
    with pytest.raises(ConfigError, match="unknown optimizer 'rmsprop'; choose one of: sgd, adam"):
        check_choice("optimizer", "rmsprop", OPTIMIZERS)
    with pytest.raises(ConfigError, match="unknown arch"):
        ModelConfig(arch="alexnet")
    with pytest.raises(ValueError, match="unknown schedule"):  # a ConfigError is a ValueError
        TrainConfig(schedule="cyclic").validate()


def test_presets_are_flat_settings_and_overrides_may_change_the_model():
    d2l = {"d2l", "d2l-max-pool", "d2l-relu", "d2l-mnist"}  # tests/test_d2l.py
    assert set(PRESETS) == {"seed", "fast", "faithful-fast", "paper"} | d2l
    seed = preset_config("seed", arch="faithful", activation=None, lr=0.05)  # None: not given
    assert seed.model == ModelConfig(arch="faithful", resize="scale")  # the arch's defaults
    assert seed.lr == 0.05 and seed.batch_size == PRESETS["seed"]["batch_size"]
    assert describe(preset_config("seed")) == "modern · relu · sgd · lr 0.01 · batch 32"
    assert "C3 paper" in describe(TrainConfig(model=ModelConfig(c3="paper")))


def test_cpu_flags_are_read_once_and_decide_bfloat16():
    flags = cpu_flags()
    assert isinstance(flags, frozenset)
    assert native_bfloat16() == bool({"avx512_bf16", "amx_bf16"} & flags)
    assert preset_config("fast").precision == ("bfloat16" if native_bfloat16() else "float32")
    assert preset_config("fast", precision="float32").precision == "float32"
