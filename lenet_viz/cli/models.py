"""`lenet-viz evaluate | predict | calibrate | models | robustness`: the commands that use a
trained checkpoint (the shipped modern net by default).

Registered by `lenet_viz.cli.build_parser`; errors are `CLIError`s like the other commands'.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lenet_viz.cli.common import EXIT_FAILED, EXIT_OK, CLIError, emit


# -- evaluate ---------------------------------------------------------------------------------
def _load(checkpoint: str | None):
    from lenet_viz.checkpoints.store import default_checkpoint_path, load_checkpoint

    path = Path(checkpoint) if checkpoint else default_checkpoint_path()
    return load_checkpoint(path)


def cmd_evaluate(args) -> int:
    from lenet_viz.data.datasets import load_split, to_network_input
    from lenet_viz.training.loop import confusion_matrix, evaluate

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
        emit(result)
        return EXIT_OK
    print(f"{loaded.path}: test accuracy {accuracy:.4f} on {len(test.labels):,} {dataset} digits")
    print("per class: " + "  ".join(f"{d}:{a:.3f}" for d, a in enumerate(per_class)))
    print("confusion (rows: true, columns: predicted):")
    for digit, row in enumerate(confusion):
        print(f"  {digit} " + " ".join(f"{v:5d}" for v in row))
    return EXIT_OK


# -- predict ----------------------------------------------------------------------------------
def cmd_predict(args) -> int:
    from lenet_viz.data.images import ImageError, load_image
    from lenet_viz.data.preprocess import prepare_for_model
    from lenet_viz.explain.calibration import read_digit, temperature_of

    loaded = _load(args.checkpoint)
    model, temperature = loaded.model, temperature_of(loaded.metadata)
    failures = 0
    for file in args.images:
        try:
            prepared = prepare_for_model(load_image(file, name=file), model.config)
            if prepared.blank:
                raise ImageError(f"{file}: no digit found ({prepared.reason})")
            # The Draw page's reading: calibrated, averaged over one-pixel shifts.
            reading = read_digit(model, prepared.network_input, temperature)
            probs = reading.probabilities.tolist()
        except (ImageError, OSError) as error:
            failures += 1
            if args.json:
                emit({"file": file, "error": str(error)})
            else:
                print(f"error: {error}", file=sys.stderr)
            continue
        digit = reading.prediction
        if args.json:
            emit(
                {
                    "file": file,
                    "digit": digit,
                    "probs": [round(p, 6) for p in probs],
                    "unsure": reading.unsure,
                    "runner_up": reading.runner_up,
                }
            )
        else:
            shown = " ".join(f"{d}:{p:.3f}" for d, p in enumerate(probs))
            print(f"{file}: {reading.summary()}  ({shown})")
    return EXIT_FAILED if failures else EXIT_OK


# -- calibrate --------------------------------------------------------------------------------
def cmd_calibrate(args) -> int:
    from lenet_viz.checkpoints.store import save_checkpoint
    from lenet_viz.explain.calibration import calibrate, held_out_inputs

    loaded = _load(args.checkpoint)
    first = args.held_out_from
    if first is None:
        first = ((loaded.metadata.get("train_config") or {}).get("train_limit")) or 0
    try:
        inputs, labels = held_out_inputs(loaded.model, int(first))
    except ValueError as error:
        raise CLIError(str(error)) from None
    found = calibrate(loaded.model, inputs, labels)
    found["calibration"]["held_out_from"] = int(first)
    target = args.save or loaded.path
    save_checkpoint(loaded.model, target, {**loaded.metadata, **found}, overwrite=True)
    result = {
        "checkpoint": str(target),
        "temperature": found["temperature"],
        **found["calibration"],
    }
    if args.json:
        emit(result)
    else:
        print(
            f"{target}: temperature {result['temperature']:.3f} fitted on "
            f"{result['held_out_digits']:,} held-out digits; expected calibration error "
            f"{result['ece_before']:.2%} -> {result['ece_after']:.2%}"
        )
    return EXIT_OK


# -- models ---------------------------------------------------------------------------------
def cmd_models(args) -> int:
    from lenet_viz.checkpoints.store import list_checkpoints

    keys = ("path", "arch", "activation", "dataset", "test_acc")
    for entry in list_checkpoints(args.dir):
        row = {k: entry.get(k) for k in keys}
        if args.json:
            emit(row)
        else:
            acc = f"{row['test_acc']:.4f}" if isinstance(row["test_acc"], float) else "?"
            print(f"{row['path']}  {row['arch']} {row['activation']} {row['dataset']} acc {acc}")
    return EXIT_OK


# -- robustness -----------------------------------------------------------------------------
def cmd_robustness(args) -> int:
    from lenet_viz.explain.robustness import robustness_curves

    loaded = _load(args.checkpoint)
    curves = robustness_curves(loaded.model)
    if args.json:
        emit({"checkpoint": str(loaded.path), **curves.to_dict()})
    else:
        print(f"{loaded.path}: " + "\n".join(curves.text_lines()))
    return EXIT_OK


def add_model_commands(sub) -> None:
    """Register evaluate, predict, calibrate, models and robustness on `sub` (subparsers)."""
    evaluate = sub.add_parser("evaluate", help="accuracy on the 10,000 test digits")
    evaluate.add_argument("--checkpoint", help="default: the shipped modern checkpoint")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser("predict", help="read digits from image files")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--checkpoint", help="default: the shipped modern checkpoint")
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(func=cmd_predict)

    calibrate = sub.add_parser(
        "calibrate",
        help="fit a checkpoint's temperature on held-out digits (its honest confidence)",
    )
    calibrate.add_argument("--checkpoint", help="default: the shipped modern checkpoint")
    calibrate.add_argument(
        "--held-out-from",
        type=int,
        help="MNIST training digits from this index on were not trained on "
        "(default: the checkpoint's train_limit)",
    )
    calibrate.add_argument("--save", help="write here instead of updating the checkpoint")
    calibrate.add_argument("--json", action="store_true")
    calibrate.set_defaults(func=cmd_calibrate)

    models = sub.add_parser("models", help="list the checkpoints in checkpoints/")
    models.add_argument("--dir", help="another checkpoint folder")
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=cmd_models)

    robust = sub.add_parser("robustness", help="accuracy on 1,000 distorted test digits")
    robust.add_argument(
        "checkpoint", nargs="?", metavar="CHECKPOINT", help="default: the shipped modern net"
    )
    robust.add_argument("--json", action="store_true")
    robust.set_defaults(func=cmd_robustness)
