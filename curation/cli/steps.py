"""`gristmill steps`: every registered step with its parameters, as tables or Markdown."""

from __future__ import annotations

import argparse
import inspect

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from curation.cli.step_reference import REGENERATE, kind, markdown, parameters
from curation.core.registry import all_steps, get_step_class


def steps_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("steps", help="list every step with its parameters")
    parser.add_argument("name", nargs="?", help="show one step only")
    parser.add_argument("--markdown", action="store_true",
                        help=f"print the step reference as Markdown ({REGENERATE})")
    parser.set_defaults(func=run_steps)


def run_steps(args: argparse.Namespace) -> int:
    steps = all_steps()
    if args.name:
        steps = {args.name: get_step_class(args.name, "gristmill steps")}
    if args.markdown:
        print(markdown(steps), end="")
        return 0
    console = Console()
    for name, cls in sorted(steps.items()):
        table = Table(title=escape(f"{name} ({kind(cls)}): {inspect.getdoc(cls) or ''}"),
                      title_justify="left")
        params = parameters(cls)
        # Names are typed on the command line: never cut; the rest wraps (never "…").
        table.add_column("parameter", no_wrap=True,
                         min_width=max((len(p.name) for p in params), default=9))
        for column in ("type", "default", "what it does"):
            table.add_column(column, overflow="fold")
        for param in params:
            table.add_row(*map(escape, (param.name, param.type, param.default,
                                        param.description)))
        console.print(table)
    return 0
