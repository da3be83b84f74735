"""fetch-data and info: the data on disk, and a net's layers, shapes and connections."""

from __future__ import annotations

from lenet_viz.cli.common import EXIT_OK, emit
from lenet_viz.data.datasets import DATASETS
from lenet_viz.nets.activations import ACTIVATIONS
from lenet_viz.nets.config import ARCHS, C3_TABLES


def cmd_fetch_data(args) -> int:
    from lenet_viz.data.fetch import fetch_data

    path = fetch_data(args.dataset, log=lambda line: print(line, flush=True))
    print(f"ready: {path}")
    return EXIT_OK


# -- info --------------------------------------------------------------------------------------
def cmd_info(args) -> int:
    from lenet_viz.nets.build import build_model
    from lenet_viz.nets.config import ModelConfig

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


def add_data_commands(sub) -> None:
    """Register fetch-data and info on `sub` (subparsers)."""
    fetch = sub.add_parser("fetch-data", help="fetch MNIST or Fashion-MNIST into data/")
    fetch.add_argument("--dataset", choices=list(DATASETS), default="mnist")
    fetch.set_defaults(func=cmd_fetch_data)

    info = sub.add_parser("info", help="per-layer shapes, parameters and connections")
    info.add_argument("--arch", choices=ARCHS, default="modern")
    info.add_argument("--activation", choices=list(ACTIVATIONS))
    info.add_argument("--c3", choices=C3_TABLES, help="S2->C3 table: full, or the paper's Table I")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=cmd_info)
