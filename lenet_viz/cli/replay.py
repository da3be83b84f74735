"""`lenet-viz replay CHECKPOINT --out FILE`: a training run's snapshots as a GIF or a grid PNG.

C1's kernels, one test digit's C1 and C3 maps and its prediction at every weight snapshot the
checkpoint carries (`lenet_viz.training.replay`), drawn by `lenet_viz.figures.replay`. Registered by
`lenet_viz.cli.build_parser`; errors are `CLIError`s like the other commands'.
"""

from __future__ import annotations

import json
from pathlib import Path

from lenet_viz.cli.common import EXIT_OK, CLIError

REPLAY_FORMATS = (".gif", ".png")


def _replay_digit(dataset: str, index: int):
    """(28x28 image, label, where from): test image `index` of the dataset, or of the sample
    digits shipped with lenet_viz when MNIST is not fetched."""
    from lenet_viz.data.datasets import DataError, data_available, load_split, sample_digits

    if data_available(dataset):
        try:
            split, where = load_split(dataset, train=False), f"{dataset} test image"
        except DataError:
            split, where = sample_digits(), "sample digit"
    elif dataset == "mnist":
        split, where = sample_digits(), "sample digit"
    else:
        raise CLIError(
            f"{dataset} is not fetched; run `lenet-viz fetch-data --dataset {dataset}` first"
        )
    if not 0 <= index < len(split.labels):
        raise CLIError(f"--digit must be from 0 to {len(split.labels) - 1}, got {index}")
    return split.images[index], int(split.labels[index]), f"{where} #{index}"


def cmd_replay(args) -> int:
    from lenet_viz.checkpoints.store import load_checkpoint
    from lenet_viz.figures.replay import animated_gif, frame, frame_title, grid_png
    from lenet_viz.training.replay import (
        digit_input,
        inside_at,
        scratch_model,
        snapshots_from_payload,
    )

    out = Path(args.out)
    if out.suffix.lower() not in REPLAY_FORMATS:
        raise CLIError(
            f"--out must end in .gif (an animation) or .png (a grid of every snapshot), "
            f"got {out.name!r}"
        )
    loaded = load_checkpoint(Path(args.checkpoint))
    replay = snapshots_from_payload(loaded.replay, str(loaded.path))
    config = loaded.model.config
    image, label, where = _replay_digit(loaded.metadata.get("dataset") or "mnist", args.digit)
    x = digit_input(image, config)
    model = scratch_model(config)
    name = f"{config.arch} {config.activation}"
    curve = (replay.curve_iterations, replay.curve_losses) if len(replay.curve_losses) else None
    views = [inside_at(snapshot, model, x) for snapshot in replay.snapshots]
    frames = [frame(view, frame_title(name, view), curve) for view in views]
    data = animated_gif(frames) if out.suffix.lower() == ".gif" else grid_png(frames)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except OSError as error:
        raise CLIError(f"cannot write {out}: {error.strerror or error}") from None
    result = {
        "out": str(out),
        "snapshots": len(views),
        "iterations": [view.iteration for view in views],
        "digit": where,
        "label": label,
        "predictions": [view.prediction for view in views],
        "bytes": len(data),
    }
    if args.json:
        print(json.dumps(result), flush=True)
    else:
        print(
            f"wrote {out} ({len(data) / 1024:.0f} KB): {len(views)} snapshots, iterations "
            f"{views[0].iteration:,} to {views[-1].iteration:,}, {where} (a {label}) predicted "
            f"{views[0].prediction} at first, {views[-1].prediction} at the end"
        )
    return EXIT_OK


def add_replay_command(sub) -> None:
    """Add the `replay` command to `sub`, the main parser's `add_subparsers()`."""
    replay = sub.add_parser(
        "replay", help="C1's kernels, a digit's maps and prediction at every training snapshot"
    )
    replay.add_argument("checkpoint", metavar="CHECKPOINT", help="saved by `train --save`")
    replay.add_argument(
        "--out", required=True, help="FILE.gif: an animation; FILE.png: every snapshot in a grid"
    )
    replay.add_argument("--digit", type=int, default=0, help="which test digit (default 0)")
    replay.add_argument("--json", action="store_true")
    replay.set_defaults(func=cmd_replay)
