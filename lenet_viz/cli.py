"""The command line: `python -m lenet_viz <command>` or `lenet-viz <command>`.

Commands: fetch-data, info, train here; evaluate, predict, calibrate, models, robustness in
`lenet_viz.cli_models`; replay in `lenet_viz.cli_replay`.
Errors are one line on stderr that starts with "error:", exit code 2, no traceback. A diverged
run and an unreadable image exit 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CLIError(Exception):
    """An error the user can fix; printed as one `error:` line."""


def emit(payload: dict) -> None:
    print(json.dumps(payload), flush=True)


# -- fetch-data ------------------------------------------------------------------------------
def cmd_fetch_data(args) -> int:
    from lenet_viz.fetch import fetch_data

    path = fetch_data(args.dataset, log=lambda line: print(line, flush=True))
    print(f"ready: {path}")
    return EXIT_OK


# -- info --------------------------------------------------------------------------------------
def cmd_info(args) -> int:
    from lenet_viz.model import ModelConfig, build_model

    config = ModelConfig(arch=args.arch, activation=args.activation, c3=args.c3)
    info = build_model(config).info()
    if args.json:
        emit(info)
        return EXIT_OK
    print(f"LeNet-5 ({config.arch}, {config.activation}, C3 {config.c3})")
    print(f"{'layer':<8}{'output shape':<16}{'params':>10}{'connections':>14}")
    for layer in info["layers"]:
        shape = "x".join(str(d) for d in layer["output_shape"])
        print(f"{layer['name']:<8}{shape:<16}{layer['params']:>10,}{layer['connections']:>14,}")
    print(f"{'total':<24}{info['total_params']:>10,}{info['total_connections']:>14,}")
    print("S2 -> C3 connection table (rows: S2 maps, columns: C3 maps):")
    for row in info["connection_table"]:
        print("  " + " ".join("X" if v else "." for v in row))
    return EXIT_OK


# -- train -------------------------------------------------------------------------------------
def _train_config(args):
    from lenet_viz.config import TrainConfig, preset_config

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

    from lenet_viz.checkpoints import save_checkpoint
    from lenet_viz.data import DataError, load_split
    from lenet_viz.replay import replay_payload
    from lenet_viz.runner import Trainer  # starts the optimizers' warm-up while data loads

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
        "status": run.status if run.status != "running" else trainer.status,
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
    return EXIT_FAILED if run.status == "diverged" else EXIT_OK


def _run_metadata(run) -> dict:
    """A checkpoint's metadata for a run: its config, test accuracy and every pass's record."""
    from lenet_viz.checkpoints import checkpoint_metadata

    status = run.status if run.status != "running" else "stopped"
    return checkpoint_metadata(
        run.model,
        dataset=run.config.dataset,
        train_config=run.config.to_dict(),
        test_acc=run.final.get("test_acc") or (run.history.epochs or [{}])[-1].get("test_acc"),
        extra={"status": status, "iterations": run.iteration, "passes": run.history.epochs},
    )


def _resumed_run(args):
    """(config, model, passes) of the checkpoint `--resume` names, with `--epochs` if given."""
    from lenet_viz.checkpoints import CheckpointError, load_checkpoint
    from lenet_viz.config import TrainConfig

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


# -- parser -----------------------------------------------------------------------------------
def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def build_parser() -> argparse.ArgumentParser:
    from lenet_viz.activations import ACTIVATIONS
    from lenet_viz.augment import AUGMENT_HELP
    from lenet_viz.config import (
        ARCHS,
        AUGMENTS,
        C3_TABLES,
        INITS,
        MODERN_INITS,
        OPTIMIZERS,
        POOLINGS,
        PRECISIONS,
        PRESETS,
        RESIZES,
        SCALINGS,
        SCHEDULES,
    )
    from lenet_viz.data import DATASETS

    parser = _Parser(
        prog="lenet-viz", description="LeNet-5 Explorer: train, evaluate and inspect LeNet-5."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    fetch = sub.add_parser("fetch-data", help="fetch MNIST or Fashion-MNIST into data/")
    fetch.add_argument("--dataset", choices=list(DATASETS), default="mnist")
    fetch.set_defaults(func=cmd_fetch_data)

    info = sub.add_parser("info", help="per-layer shapes, parameters and connections")
    info.add_argument("--arch", choices=ARCHS, default="modern")
    info.add_argument("--activation", choices=list(ACTIVATIONS))
    info.add_argument("--c3", choices=C3_TABLES, help="S2->C3 table: full, or the paper's Table I")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=cmd_info)

    train = sub.add_parser("train", help="train LeNet-5 and report test accuracy")
    train.add_argument("--preset", choices=list(PRESETS), help="a named recipe; flags override it")
    train.add_argument("--arch", choices=ARCHS)
    train.add_argument("--activation", choices=list(ACTIVATIONS))
    train.add_argument("--c3", choices=C3_TABLES)
    train.add_argument("--pooling", choices=POOLINGS)
    train.add_argument("--optimizer", choices=OPTIMIZERS)
    train.add_argument("--lr", type=_number)
    train.add_argument("--momentum", type=_number)
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

    from lenet_viz.cli_models import add_model_commands  # imports this module

    add_model_commands(sub)
    from lenet_viz.cli_replay import add_replay_command  # imports this module

    add_replay_command(sub)
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one `error:` line (no usage dump) and exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {message} (see `{self.prog} --help`)\n")


def other_runnable_tasks(samples: int = 10, interval: float = 0.002) -> float | None:
    """How many other tasks want a CPU right now (Linux: /proc/stat procs_running, which counts
    this process too, averaged over a few samples); None where that cannot be read."""
    counts = []
    for _ in range(samples):
        try:
            with open("/proc/stat") as stat:
                line = next(row for row in stat if row.startswith("procs_running"))
        except (OSError, StopIteration):
            return None
        counts.append(int(line.split()[1]) - 1)
        time.sleep(interval)
    return sum(counts) / len(counts)


def set_openmp_wait_policy() -> str | None:
    """Before torch loads OpenMP, choose how its idle threads wait (unless OMP_WAIT_POLICY is set).

    OpenMP threads spin while they wait for work by default. On free cores that is the fastest;
    when other processes keep the cores busy, spinning threads take them from the thread doing
    the work and training runs many times slower (benchmarks/RESULTS.md). So: spin on an idle
    machine, sleep on a busy one. Returns the policy set, if any.
    """
    if "OMP_WAIT_POLICY" in os.environ:
        return None
    others = other_runnable_tasks()
    if others is None or others < 0.5:
        return None
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return "PASSIVE"


def main(argv: list[str] | None = None) -> int:
    set_openmp_wait_policy()
    from lenet_viz.checkpoints import CheckpointError
    from lenet_viz.config import ConfigError
    from lenet_viz.data import DataError
    from lenet_viz.images import ImageError

    parser = build_parser()
    args = parser.parse_args(argv)  # argparse prints "error: ..." and exits 2 on a bad flag
    try:
        return args.func(args)
    except (CLIError, ConfigError, DataError, CheckpointError, ImageError, ValueError) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        print("error: " + " | ".join(lines), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. piped into `head`: not an error of the user's
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_USAGE
