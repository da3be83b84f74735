"""`lenet-viz class ...`: a class board from the terminal.

    lenet-viz class create --name "Year 11" --json   # {"code", "link", "teacher_token", ...}
    lenet-viz class export CODE --json               # every run: settings, final accuracies

The database is the app's (`LENET_VIZ_DATABASE_URL`, else data/classroom.sqlite); the links
start with `--base-url` or $LENET_VIZ_PUBLIC_URL. Registered by `lenet_viz.cli.build_parser`.
"""

from __future__ import annotations

import json

from lenet_viz.cli.common import EXIT_OK, CLIError


def board():
    from lenet_viz.classroom import ClassBoard

    return ClassBoard.from_url()


def storage_errors(command):
    """Run a command; a database that cannot be reached becomes an `error:` line."""

    def run(args) -> int:
        from lenet_viz.classroom import StorageUnavailable

        try:
            return command(args)
        except StorageUnavailable as error:
            raise CLIError(f"{error} (is LENET_VIZ_DATABASE_URL right?)") from error

    return run


@storage_errors
def cmd_class_create(args) -> int:
    new = board().create_class(args.name)
    result = {
        "code": new.code,
        "link": new.link(args.base_url),
        "teacher_token": new.teacher_token,
        "teacher_link": new.teacher_link(args.base_url),
        "name": new.name,
        "expires_at": new.expires_at.isoformat(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"class {new.name!r}: code {new.code}, open until {new.expires_at:%Y-%m-%d}")
        print(f"students open: {result['link']}")
        print(f"teacher link (keep it private): {result['teacher_link']}")
    return EXIT_OK


@storage_errors
def cmd_class_export(args) -> int:
    runs = board().export(args.code)
    if args.json:
        print(json.dumps(runs))
        return EXIT_OK
    for run in runs:
        accuracy = run["test_accuracy"]
        shown = f"{accuracy:.2%}" if accuracy is not None else "-"
        settings = run["settings"]
        print(
            f"{run['id']:>5}  {run['student'][:20]:<20}  {settings.get('activation')!s:<10}  "
            f"lr={settings.get('lr')!s:<8}  test {shown}"
        )
    print(f"{len(runs)} runs")
    return EXIT_OK


def add_class_commands(sub) -> None:
    group = sub.add_parser("class", help="a class board: create a class, export its runs")
    commands = group.add_subparsers(dest="class_command", required=True)
    create = commands.add_parser("create", help="create a class; prints its link and teacher token")
    create.add_argument("--name", required=True, help="the class's name, shown on its board")
    create.add_argument(
        "--base-url",
        default=None,
        help="where students reach the app (default: "
        "$LENET_VIZ_PUBLIC_URL or http://localhost:8501)",
    )
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=cmd_class_create)
    export = commands.add_parser("export", help="every run of a class, with its settings")
    export.add_argument("code", help="the class code (from the class link)")
    export.add_argument("--json", action="store_true")
    export.set_defaults(func=cmd_class_export)
