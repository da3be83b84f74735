"""train: one run in this process (`Trainer.run_here()`), its progress, saving and resuming."""

from __future__ import annotations

import time
from pathlib import Path

from lenet_viz.cli.common import EXIT_FAILED, EXIT_OK, CLIError, emit, number
from lenet_viz.data.datasets import DATASETS
from lenet_viz.nets.activations import ACTIVATIONS
from lenet_viz.nets.config import (
    ARCHS,
    C3_TABLES,
    INITS,
    MODERN_INITS,
    POOLINGS,
    RESIZES,
    SCALINGS,
)
from lenet_viz.training.augment import AUGMENT_HELP
from lenet_viz.training.config import AUGMENTS, OPTIMIZERS, PRECISIONS, PRESETS, SCHEDULES
from lenet_viz.training.status import RunStatus


def _train_config(args):
    from lenet_viz.training.config import TrainConfig, preset_config

    given = {
        "arch": args.arch,
        "activation": args.activation,
        "c3": args.c3,
        "pooling": args.pooling,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "momentum": args.momentum,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "schedule": args.schedule,
        "seed": args.seed,
        "resize": args.resize,
        "augment": args.augment,
        "precision": args.precision,
        "dataset": args.dataset,
        "train_limit": args.train_limit,
        "test_limit": args.test_limit,
        "init": args.init,
        "scaling": args.scaling,
    }
    if args.preset:
        return preset_config(args.preset, **given).validate()
    return TrainConfig.from_dict({k: v for k, v in given.items() if v is not None}).validate()


def _progress_printer(as_json: bool):
    """Prints like the notebook: a line every 100 iterations, then an epoch summary."""

    def on_event(run, event: str) -> None:
        h = run.history
        if event == "batch" and not as_json and run.iteration % 100 == 0:
            recent = h.loss[-100:]
            acc = h.accuracy[-100:]
            print(
                f"epoch {int(h.epoch_float[-1]) + 1} iteration {run.iteration}/"
                f"{run.total_iterations}  loss {sum(recent) / len(recent):.4f}  "
                f"batch acc {sum(acc) / len(acc):.3f}  lr {h.lr[-1]:.2e}",
                flush=True,
            )
        elif event == "epoch":
            epoch = dict(h.epochs[-1])
            if as_json:
                emit({"event": "epoch", **epoch})
            else:
                print(
                    f"== epoch {epoch['epoch']}: train loss {epoch['train_loss']:.4f} "
                    f"train acc {epoch['train_acc']:.4f} | test loss {epoch['test_loss']:.4f} "
                    f"test acc {epoch['test_acc']:.4f}",
                    flush=True,
                )

    return on_event


def cmd_train(args) -> int:
    import signal

    from lenet_viz.checkpoints.store import save_checkpoint
    from lenet_viz.data.datasets import DataError, load_split
    from lenet_viz.training.replay import replay_payload
    from lenet_viz.training.runner import Trainer  # starts the optimizers' warm-up while data loads

    resumed = _resumed_run(args) if args.resume else None
    config = resumed[0] if resumed else _train_config(args)
    started = time.perf_counter()
    try:
        load_split(config.dataset, train=True)
    except DataError as error:
        raise CLIError(str(error)) from None
    if args.save and Path(args.save).exists() and not args.overwrite:
        raise CLIError(f"{args.save} exists; add --overwrite to replace it, or choose another file")
    printer = _progress_printer(args.json)

    def on_event(run, event: str) -> None:
        printer(run, event)
        if event == "epoch" and args.save and run.history.epochs[-1]["epoch"] < config.epochs:
            # a long run keeps its last finished pass on disk: `--resume` continues from it
            save_checkpoint(run.model, args.save, _run_metadata(run), overwrite=True)

    trainer = Trainer(config, on_event=on_event, models=[resumed[1]] if resumed else None)
    if resumed:
        trainer.runs[0].restore_passes(resumed[2])
    previous = signal.signal(signal.SIGINT, lambda *_: trainer.stop())  # Ctrl-C stops cleanly
    try:
        trainer.run_here()
    finally:
        signal.signal(signal.SIGINT, previous)
    run = trainer.runs[0]
    saved = None
    if args.save:
        replay = None
        if not args.no_replay:  # the weight snapshots, for `lenet-viz replay`
            history = run.history
            replay = replay_payload(run.replay.snapshots(), history.iteration, history.loss)
        saved = str(
            save_checkpoint(run.model, args.save, _run_metadata(run), overwrite=True, replay=replay)
        )
    result = {
        "status": run.status if run.status != RunStatus.RUNNING else trainer.status,
        "test_acc": run.final.get("test_acc"),
        "epochs": len(run.history.epochs),
        "seconds": round(time.perf_counter() - started, 2),
        "images_per_second": round(trainer.images_per_second, 1),
        "saved": saved,
    }
    if run.message:
        result["message"] = run.message
    if args.json:
        emit(result)
    else:
        print(
            f"{result['status']}: test accuracy {result['test_acc']:.4f} after "
            f"{result['epochs']} epoch(s), {result['seconds']} s, "
            f"{result['images_per_second']:.0f} images/s" + (f", saved to {saved}" if saved else "")
        )
        if run.message:
            print(run.message)
    return EXIT_FAILED if run.status == RunStatus.DIVERGED else EXIT_OK


def _run_metadata(run) -> dict:
    """A checkpoint's metadata for a run: its config, test accuracy and every pass's record."""
    from lenet_viz.checkpoints.store import checkpoint_metadata

    status = run.status if run.status != RunStatus.RUNNING else RunStatus.STOPPED
    return checkpoint_metadata(
        run.model,
        dataset=run.config.dataset,
        train_config=run.config.to_dict(),
        test_acc=run.final.get("test_acc") or (run.history.epochs or [{}])[-1].get("test_acc"),
        extra={"status": status, "iterations": run.iteration, "passes": run.history.epochs},
    )


def _resumed_run(args):
    """(config, model, passes) of the checkpoint `--resume` names, with `--epochs` if given."""
    from lenet_viz.checkpoints.store import CheckpointError, load_checkpoint
    from lenet_viz.training.config import TrainConfig

    try:
        loaded = load_checkpoint(Path(args.resume))
    except (CheckpointError, OSError) as error:
        raise CLIError(f"cannot resume: {error}") from None
    stored, passes = loaded.metadata.get("train_config"), loaded.metadata.get("passes")
    if not stored or not passes:
        raise CLIError(
            f"cannot resume from {args.resume}: it does not record its training run "
            "(only checkpoints saved by `train --save` after a finished pass do)"
        )
    config = TrainConfig.from_dict(stored)
    if args.epochs is not None:
        config.epochs = args.epochs
    if len(passes) >= config.epochs:
        raise CLIError(
            f"{args.resume} has already trained {len(passes)} of {config.epochs} epochs; "
            "give more with --epochs"
        )
    return config.validate(), loaded.model, passes


def add_train_command(sub) -> None:
    """Register train on `sub` (subparsers)."""
    train = sub.add_parser("train", help="train LeNet-5 and report test accuracy")
    train.add_argument("--preset", choices=list(PRESETS), help="a named recipe; flags override it")
    train.add_argument("--arch", choices=ARCHS)
    train.add_argument("--activation", choices=list(ACTIVATIONS))
    train.add_argument("--c3", choices=C3_TABLES)
    train.add_argument("--pooling", choices=POOLINGS)
    train.add_argument("--optimizer", choices=OPTIMIZERS)
    train.add_argument("--lr", type=number)
    train.add_argument("--momentum", type=number)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--epochs", type=int)
    train.add_argument("--schedule", choices=SCHEDULES)
    train.add_argument("--seed", type=int)
    train.add_argument("--resize", choices=RESIZES)
    train.add_argument(
        "--init",
        choices=INITS + MODERN_INITS,
        help="initial weights: the faithful net's appendix-a (+-2.4/F_i) or sqrt3 "
        "(+-sqrt(3/F_i)); the modern net's xavier (d2l-zh's; default: PyTorch's own)",
    )
    train.add_argument(
        "--scaling",
        choices=SCALINGS,
        help="pixels to inputs: mnist (mean/std, the modern net's), paper (-0.1..1.175, the "
        "faithful net's) or unit (0..1, d2l-zh's)",
    )
    train.add_argument("--dataset", choices=list(DATASETS))
    train.add_argument(
        "--augment",
        choices=AUGMENTS,
        help="; ".join(f"{name}: {text}" for name, text in AUGMENT_HELP.items()),
    )
    train.add_argument(
        "--precision", choices=PRECISIONS, help="bfloat16: the forward pass in bfloat16 autocast"
    )
    train.add_argument("--train-limit", type=int, help="train on the first N digits only")
    train.add_argument("--test-limit", type=int, help="evaluate on the first N test digits only")
    train.add_argument("--save", help="save the trained model to this checkpoint file")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --save file")
    train.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue the run a `train --save` checkpoint recorded (its settings; --epochs may "
        "extend it); with --save, the file is rewritten after every epoch. SDLM re-estimates "
        "its curvature each pass, so it resumes exactly; Adam and SGD restart their averages",
    )
    train.add_argument(
        "--no-replay",
        action="store_true",
        help="save the weights only, without the ~30 snapshots `lenet-viz replay` needs",
    )
    train.add_argument("--json", action="store_true")
    train.set_defaults(func=cmd_train)
