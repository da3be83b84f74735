"""How well the default Draw model reads drawn digits, and how honest its confidence is.

`measure_drawn` reads the drawn-digit benchmark (`lenet_viz.data.drawn.drawn_benchmark`: the
benchmark templates only, as canvas strokes and as photos of ink on paper) through the Draw
page's own preprocessing and reading (`calibration.read_inputs`), and MNIST's test digits, and
reports: accuracy per digit, per style and per medium, the confusion pairs, the expected
calibration error before and after temperature scaling, and how often the page says "unsure"
for digits and for marks that are not one digit (scribbles, letters, two digits).

`measure_writers` reads issue 24's writers' benchmark (`lenet_viz.data.drawn.writer_benchmark`:
the *test* writers only, styles outside the issue 10 templates, each in a pen habit of its
own) and reports accuracy per digit, per style and per pen habit, the confusion table, the
calibration error, and which styles (of at least `STYLE_MIN_DIGITS` digits) fall short of
`STYLE_MIN_ACCURACY`.
"""

from __future__ import annotations

import time

import torch

from lenet_viz.checkpoints.store import default_checkpoint_path, load_checkpoint
from lenet_viz.data.datasets import data_available, load_split, to_network_input
from lenet_viz.data.drawn import drawn_benchmark, not_digit_drawings, writer_benchmark
from lenet_viz.data.preprocess import prepare_for_model
from lenet_viz.explain.calibration import (
    UNSURE_BELOW,
    expected_calibration_error,
    read_inputs,
    temperature_of,
)
from lenet_viz.explain.drawn_score import score_drawn

WRITERS_MIN_ACCURACY = 0.995  # issue 24's targets, on the test writers
STYLE_MIN_ACCURACY = 0.99
STYLE_MIN_DIGITS = 50  # styles with fewer digits are reported, not held to the target


def measure_writers(
    model, temperature: float, part: str = "test", canvas_per_writer=None, photos_per_writer=None
) -> dict:
    """Issue 24's writers' benchmark as the Draw page reads it (`part`: "test" to report,
    "validation" to choose models)."""
    sizes = {
        k: v
        for k, v in (
            ("canvas_per_writer", canvas_per_writer),
            ("photos_per_writer", photos_per_writer),
        )
        if v is not None
    }
    digits = writer_benchmark(part, **sizes)
    score = score_drawn(model, digits, temperature)
    raw = score_drawn(model, digits, 1.0, tta=False)
    by_style = score.accuracy_by("style")
    return {
        "part": part,
        "n": len(digits),
        "accuracy": score.accuracy,
        "by_digit": score.accuracy_by("digit"),
        "by_style": by_style,
        "by_habit": score.accuracy_by("habit"),
        "by_medium": score.accuracy_by("medium"),
        "confusions": score.confusions(),
        "confusion_matrix": confusion_counts(score.labels, score.predicted),
        "ece_before": expected_calibration_error(raw.probabilities, raw.labels),
        "ece_after": expected_calibration_error(score.probabilities, score.labels),
        "unsure_share": float((score.probabilities.max(axis=1) < UNSURE_BELOW).mean()),
        "styles_short": short_styles(by_style),
    }


def short_styles(by_style: dict) -> list[str]:
    """The styles of at least STYLE_MIN_DIGITS digits read below STYLE_MIN_ACCURACY."""
    return [
        style
        for style, (right, total) in by_style.items()
        if total >= STYLE_MIN_DIGITS and right / total < STYLE_MIN_ACCURACY
    ]


def measure_drawn(
    canvas_per_template: int | None = None,
    photos_per_template: int | None = None,
    checkpoint: str | None = None,
    mnist_limit: int | None = None,
    canvas_per_writer: int | None = None,
    photos_per_writer: int | None = None,
) -> dict:
    """Every number of the "drawn" section (None sizes: the full benchmark)."""
    started = time.perf_counter()
    path = checkpoint or default_checkpoint_path("modern")
    loaded = load_checkpoint(path)
    model, temperature = loaded.model, temperature_of(loaded.metadata)
    sizes = {
        k: v
        for k, v in (
            ("canvas_per_template", canvas_per_template),
            ("photos_per_template", photos_per_template),
        )
        if v is not None
    }
    digits = drawn_benchmark(**sizes)
    score = score_drawn(model, digits, temperature)
    raw = score_drawn(model, digits, 1.0, tta=False)  # the plain net, uncalibrated
    without_width = score_drawn(model, digits, temperature, stroke_width=0)
    others = not_digit_drawings()
    other_inputs = torch.cat(
        [prepare_for_model(d.image, model.config).network_input for d in others]
    )
    other_probs = read_inputs(model, other_inputs, temperature).numpy()
    result = {
        "checkpoint": str(path),
        "temperature": temperature,
        "n": len(digits),
        "accuracy": score.accuracy,
        "accuracy_plain_net": raw.accuracy,
        "accuracy_without_stroke_width_normalisation": without_width.accuracy,
        "by_digit": score.accuracy_by("digit"),
        "by_medium": score.accuracy_by("medium"),
        "by_style": score.accuracy_by("style"),
        "confusions": score.confusions(),
        "confusion_matrix": confusion_counts(score.labels, score.predicted),
        "ece_drawn_before": expected_calibration_error(raw.probabilities, raw.labels),
        "ece_drawn_after": expected_calibration_error(score.probabilities, score.labels),
        "unsure_below": UNSURE_BELOW,
        "unsure_share_drawn": float((score.probabilities.max(axis=1) < UNSURE_BELOW).mean()),
        "wrong_and_sure_drawn": int(
            (
                (score.predicted != score.labels)
                & (score.probabilities.max(axis=1) >= UNSURE_BELOW)
            ).sum()
        ),
        "not_digits": len(others),
        "unsure_share_not_digits": float((other_probs.max(axis=1) < UNSURE_BELOW).mean()),
        "unsure_not_digits": int((other_probs.max(axis=1) < UNSURE_BELOW).sum()),
        "writers": measure_writers(
            model, temperature, "test", canvas_per_writer, photos_per_writer
        ),
    }
    if data_available("mnist"):
        test = load_split("mnist", train=False)
        limit = mnist_limit or len(test.labels)
        inputs = to_network_input(
            test.images[:limit], model.config.resize, model.config.input_scaling
        )
        labels = test.labels[:limit]
        plain = read_inputs(model, inputs, 1.0, tta=False)
        read = read_inputs(model, inputs, temperature)
        result.update(
            mnist_n=limit,
            mnist_accuracy_plain_net=float((plain.argmax(1) == labels).double().mean()),
            mnist_accuracy=float((read.argmax(1) == labels).double().mean()),
            unsure_share_mnist=float((read.max(dim=1).values < UNSURE_BELOW).double().mean()),
            ece_mnist_before=expected_calibration_error(plain, labels),
            ece_mnist_after=expected_calibration_error(read, labels),
        )
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def confusion_counts(labels, predicted) -> list[list[int]]:
    """counts[true][read] over the ten digits."""
    counts = [[0] * 10 for _ in range(10)]
    for true, read in zip(labels.tolist(), predicted.tolist(), strict=True):
        counts[true][read] += 1
    return counts


def confusion_table_lines(counts: list[list[int]]) -> list[str]:
    """The confusion table as text: a row per true digit, a column per digit read; the right
    readings on the diagonal, every mistake off it."""
    width = max(4, len(str(max(max(row) for row in counts))) + 1)
    lines = ["true \\ read" + "".join(f"{d:>{width}}" for d in range(10))]
    for true, row in enumerate(counts):
        cells = "".join(f"{(n if n else '.'):>{width}}" for n in row)
        lines.append(f"{true:>11}" + cells)
    return lines


def confusion_text(confusions: list, limit: int = 8) -> str:
    if not confusions:
        return "none"
    return ", ".join(f"{t}→{r} ×{n}" for t, r, n in confusions[:limit])


def per_digit_text(by_digit: dict) -> str:
    return " · ".join(f"{d}: {right}/{total}" for d, (right, total) in by_digit.items())


def ratio_text(pair) -> str:
    right, total = pair
    return f"{right / total:.2%} ({right}/{total})"


def per_style_lines(by_style: dict) -> list[str]:
    return [f"{style}: {ratio_text(pair)}" for style, pair in by_style.items()]


def summary(result: dict) -> list[tuple[str, str]]:
    """(what, value) lines for the table."""
    lines = [
        (
            f"drawn digits ({result['n']}, benchmark templates): the Draw page's accuracy",
            ratio_text((round(result["accuracy"] * result["n"]), result["n"])),
        ),
        (
            "drawn digits: canvas / photos",
            " / ".join(f"{m} {ratio_text(p)}" for m, p in result["by_medium"].items()),
        ),
        ("drawn digits per digit (right/total)", per_digit_text(result["by_digit"])),
        ("drawn digits: confusions (true→read)", confusion_text(result["confusions"])),
        (
            "drawn digits: plain net (no shift averaging) / without stroke-width normalisation",
            f"{result['accuracy_plain_net']:.2%} / "
            f"{result['accuracy_without_stroke_width_normalisation']:.2%}",
        ),
        (
            f"calibration error (ECE) on drawn digits, before → after (T = "
            f"{result['temperature']:.2f})",
            f"{result['ece_drawn_before']:.2%} → {result['ece_drawn_after']:.2%}",
        ),
        (
            f"'unsure' (< {result['unsure_below']:.0%}): drawn digits / scribbles, letters, "
            f"pairs ({result['not_digits']})",
            f"{result['unsure_share_drawn']:.1%} / {result['unsure_share_not_digits']:.0%} "
            f"({result['unsure_not_digits']}/{result['not_digits']}); "
            f"wrong and sure: {result['wrong_and_sure_drawn']}",
        ),
    ]
    lines += writers_summary(result["writers"])
    if "mnist_accuracy" in result:
        lines += [
            (
                f"MNIST test ({result['mnist_n']}): the Draw page's reading / the plain net",
                f"{result['mnist_accuracy']:.2%} / {result['mnist_accuracy_plain_net']:.2%}",
            ),
            ("'unsure' on MNIST test digits", f"{result['unsure_share_mnist']:.2%}"),
            (
                "calibration error (ECE) on MNIST test, before → after",
                f"{result['ece_mnist_before']:.2%} → {result['ece_mnist_after']:.2%}",
            ),
        ]
    return lines


def writers_summary(writers: dict) -> list[tuple[str, str]]:
    """(what, value) lines for issue 24's test writers."""
    n = writers["n"]
    short = writers["styles_short"]
    return [
        (
            f"test writers ({n}, issue 24's styles and pen habits): the Draw page's accuracy",
            ratio_text((round(writers["accuracy"] * n), n)),
        ),
        ("test writers per digit (right/total)", per_digit_text(writers["by_digit"])),
        ("test writers: confusions (true→read)", confusion_text(writers["confusions"])),
        (
            f"test writers: styles of >= {STYLE_MIN_DIGITS} digits below {STYLE_MIN_ACCURACY:.0%}",
            ", ".join(short) if short else "none",
        ),
        (
            "calibration error (ECE) on test writers, before → after",
            f"{writers['ece_before']:.2%} → {writers['ece_after']:.2%}",
        ),
    ]


def writers_report_lines(writers: dict) -> list[str]:
    """The per-style and per-habit tables and the confusion table of the test writers."""
    lines = [f"{writers['part']} writers, per style ({writers['n']} digits):"]
    lines += [f"  {line}" for line in per_style_lines(writers["by_style"])]
    lines.append("test writers, per pen habit:")
    lines += [f"  {line}" for line in per_style_lines(writers["by_habit"])]
    lines.append("test writers, confusions (rows: the digit drawn, columns: what it was read as):")
    lines += [f"  {line}" for line in confusion_table_lines(writers["confusion_matrix"])]
    return lines


def mnist_validation_accuracy(model, metadata: dict) -> tuple[float, str] | None:
    """The Draw page's accuracy on the MNIST training digits the checkpoint held out of
    training (`--train-limit`), for choosing models without the test set; None if it held
    none out or MNIST is not fetched."""
    first = (metadata.get("train_config") or {}).get("train_limit")
    if not first or not data_available("mnist"):
        return None
    train = load_split("mnist", train=True)
    inputs = to_network_input(train.images[first:], model.config.resize, model.config.input_scaling)
    read = read_inputs(model, inputs, temperature_of(metadata))
    accuracy = float((read.argmax(1) == train.labels[first:]).double().mean())
    return accuracy, f"{first:,}-{len(train.labels) - 1:,}"


def main() -> None:
    """`python -m benchmarks.drawn [--checkpoint FILE] [--part validation]`: the full
    drawn-digit report, per style too; with `--part validation`, only the validation writers
    (for choosing between models: never the test writers)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.drawn")
    parser.add_argument("--checkpoint", help="a checkpoint file (default: the Draw model)")
    parser.add_argument("--part", choices=("test", "validation"), default="test")
    args = parser.parse_args()
    if args.part == "validation":
        loaded = load_checkpoint(args.checkpoint or default_checkpoint_path("modern"))
        writers = measure_writers(loaded.model, temperature_of(loaded.metadata), "validation")
        right = round(writers["accuracy"] * writers["n"])
        print(f"validation writers: the Draw page's accuracy {ratio_text((right, writers['n']))}")
        held_out = mnist_validation_accuracy(loaded.model, loaded.metadata)
        if held_out is not None:
            print(
                f"MNIST validation digits (held out of training): {held_out[1]}: {held_out[0]:.2%}"
            )
        for line in writers_report_lines(writers):
            print(line)
        return
    result = measure_drawn(checkpoint=args.checkpoint)
    for what, value in summary(result):
        print(f"{what}: {value}")
    print("confusions, every drawn digit (rows: the digit drawn, columns: what it was read as):")
    for line in confusion_table_lines(result["confusion_matrix"]):
        print(f"  {line}")
    print("per style:")
    for line in per_style_lines(result["by_style"]):
        print(f"  {line}")
    for line in writers_report_lines(result["writers"]):
        print(line)
    print(f"({result['seconds']} s)")


if __name__ == "__main__":
    main()
