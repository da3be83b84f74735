"""The command line: `python -m lenet_viz <command>` or `lenet-viz <command>`.

Commands: fetch-data, info, train, evaluate, predict, models. Errors are one line on stderr that
starts with "error:", exit code 2, no traceback. A diverged run and an unreadable image exit 1.
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


def _emit(payload: dict) -> None:
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
        _emit(info)
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
                _emit({"event": "epoch", **epoch})
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

    from lenet_viz.checkpoints import checkpoint_metadata, save_checkpoint
    from lenet_viz.data import DataError, load_split
    from lenet_viz.runner import Trainer  # starts the optimizers' warm-up while data loads

    config = _train_config(args)
    started = time.perf_counter()
    try:
        load_split(config.dataset, train=True)
    except DataError as error:
        raise CLIError(str(error)) from None
    trainer = Trainer(config, on_event=_progress_printer(args.json))
    previous = signal.signal(signal.SIGINT, lambda *_: trainer.stop())  # Ctrl-C stops cleanly
    try:
        trainer.run_here()
    finally:
        signal.signal(signal.SIGINT, previous)
    run = trainer.runs[0]
    saved = None
    if args.save:
        metadata = checkpoint_metadata(
            run.model,
            dataset=config.dataset,
            train_config=config.to_dict(),
            test_acc=run.final.get("test_acc"),
            extra={"status": run.status, "iterations": run.iteration},
        )
        saved = str(save_checkpoint(run.model, args.save, metadata, overwrite=args.overwrite))
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
        _emit(result)
    else:
        print(
            f"{result['status']}: test accuracy {result['test_acc']:.4f} after "
            f"{result['epochs']} epoch(s), {result['seconds']} s, "
            f"{result['images_per_second']:.0f} images/s" + (f", saved to {saved}" if saved else "")
        )
        if run.message:
            print(run.message)
    return EXIT_FAILED if run.status == "diverged" else EXIT_OK


# -- evaluate ---------------------------------------------------------------------------------
def _load(checkpoint: str | None):
    from lenet_viz.checkpoints import default_checkpoint_path, load_checkpoint

    path = Path(checkpoint) if checkpoint else default_checkpoint_path()
    return load_checkpoint(path)


def cmd_evaluate(args) -> int:
    from lenet_viz.data import load_split, to_network_input
    from lenet_viz.train import confusion_matrix, evaluate

    loaded = _load(args.checkpoint)
    model, meta = loaded.model, loaded.metadata
    dataset = meta.get("dataset", "mnist")
    test = load_split(dataset, train=False)
    inputs = to_network_input(test.images, model.config.resize, model.config.input_scaling)
    _, accuracy, predicted = evaluate(model, inputs, test.labels)
    confusion = confusion_matrix(test.labels, predicted)
    per_class = [row[i] / max(1, sum(row)) for i, row in enumerate(confusion)]
    result = {
        "checkpoint": str(loaded.path),
        "test_acc": accuracy,
        "n": len(test.labels),
        "per_class": per_class,
        "confusion": confusion,
    }
    if args.json:
        _emit(result)
        return EXIT_OK
    print(f"{loaded.path}: test accuracy {accuracy:.4f} on {len(test.labels):,} {dataset} digits")
    print("per class: " + "  ".join(f"{d}:{a:.3f}" for d, a in enumerate(per_class)))
    print("confusion (rows: true, columns: predicted):")
    for digit, row in enumerate(confusion):
        print(f"  {digit} " + " ".join(f"{v:5d}" for v in row))
    return EXIT_OK


# -- predict ----------------------------------------------------------------------------------
def cmd_predict(args) -> int:
    import torch

    from lenet_viz.images import ImageError, load_image
    from lenet_viz.preprocess import prepare_for_model

    model = _load(args.checkpoint).model
    failures = 0
    for file in args.images:
        try:
            prepared = prepare_for_model(load_image(file, name=file), model.config)
            if prepared.blank:
                raise ImageError(f"{file}: no digit found ({prepared.reason})")
            with torch.inference_mode():
                probs = model.probabilities(model(prepared.network_input))[0].tolist()
        except (ImageError, OSError) as error:
            failures += 1
            if args.json:
                _emit({"file": file, "error": str(error)})
            else:
                print(f"error: {error}", file=sys.stderr)
            continue
        digit = max(range(10), key=probs.__getitem__)
        if args.json:
            _emit({"file": file, "digit": digit, "probs": [round(p, 6) for p in probs]})
        else:
            shown = " ".join(f"{d}:{p:.3f}" for d, p in enumerate(probs))
            print(f"{file}: {digit}  ({shown})")
    return EXIT_FAILED if failures else EXIT_OK


# -- models ---------------------------------------------------------------------------------
def cmd_models(args) -> int:
    from lenet_viz.checkpoints import list_checkpoints

    keys = ("path", "arch", "activation", "dataset", "test_acc")
    for entry in list_checkpoints(args.dir):
        row = {k: entry.get(k) for k in keys}
        if args.json:
            _emit(row)
        else:
            acc = f"{row['test_acc']:.4f}" if isinstance(row["test_acc"], float) else "?"
            print(f"{row['path']}  {row['arch']} {row['activation']} {row['dataset']} acc {acc}")
    return EXIT_OK


# -- parser -----------------------------------------------------------------------------------
def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def build_parser() -> argparse.ArgumentParser:
    from lenet_viz.activations import ACTIVATIONS
    from lenet_viz.config import (
        ARCHS,
        AUGMENTS,
        C3_TABLES,
        OPTIMIZERS,
        POOLINGS,
        PRECISIONS,
        PRESETS,
        RESIZES,
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
    train.add_argument("--dataset", choices=list(DATASETS))
    train.add_argument(
        "--augment", choices=AUGMENTS, help="shift: move each training digit by up to 2 px"
    )
    train.add_argument(
        "--precision", choices=PRECISIONS, help="bfloat16: the forward pass in bfloat16 autocast"
    )
    train.add_argument("--train-limit", type=int, help="train on the first N digits only")
    train.add_argument("--test-limit", type=int, help="evaluate on the first N test digits only")
    train.add_argument("--save", help="save the trained model to this checkpoint file")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --save file")
    train.add_argument("--json", action="store_true")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="accuracy on the 10,000 test digits")
    evaluate.add_argument("--checkpoint", help="default: the shipped modern checkpoint")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser("predict", help="read digits from image files")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--checkpoint", help="default: the shipped modern checkpoint")
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(func=cmd_predict)

    models = sub.add_parser("models", help="list the checkpoints in checkpoints/")
    models.add_argument("--dir", help="another checkpoint folder")
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=cmd_models)
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
