"""The ``privetl`` console script: one Click group for the whole command line.

Three kinds of command, each in a section of ``privetl --help``:

- the engine's, ``run`` and ``validate`` (from :mod:`privetl.engine.cli`): no Django, no
  database; this module imports Django only inside the Django-backed commands, so they never
  load it;
- the platform's (:data:`PLATFORM_COMMANDS`): each one *is* the Django management command of
  the same name, its arguments passed through unchanged, so ``privetl serve --help`` is the
  command's own full help and ``privetl audit verify`` its subcommand;
- ``manage``: every other Django management command (``privetl manage makemigrations``).

``privetl help COMMAND [WORD ...]`` is ``privetl COMMAND [WORD ...] --help``; ``privetl``,
``privetl --help`` and ``privetl help`` print the list. Exit codes are the engine's
(:mod:`privetl.engine.cli`: 2 for a usage error such as an unknown command); a Django-backed
command exits with its Django command's status.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from privetl.engine import cli as engine_cli

PLATFORM_COMMANDS: dict[str, str] = {
    "serve": "Serve HTTP (REST, API docs, admin) and gRPC in one process.",
    "web": "Serve the HTTP API with gunicorn (production WSGI server).",
    "grpc": "Serve the gRPC API.",
    "worker": "Execute queued runs of ETL tasks (a django-q2 cluster; start any number, on any machine sharing the database and RUN_WORK_DIR).",
    "migrate": "Create or update the database schema (as DATABASE_OWNER_URL's role when set, then grant the runtime role).",
    "createadmin": "Create a user with the ADMIN role, or grant ADMIN to a user.",
    "token": "Print a bearer token for a user (the last word of the output).",
    "task": "ETL task tools: 'task export ID [--out FILE]' writes a released task's data module document for 'privetl run'.",
    "audit": "Audit log tools: 'audit verify' checks the hash chain and its signed checkpoints (exit 1 if broken); 'audit checkpoint' signs one.",
    "rotate-connection-key": "Re-encrypt every connection string with the first key of PRIVETL_CONNECTION_KEYS (put the new key first, rotate, then drop the old one).",
}
"""The platform's own commands, each a Django management command of the same name (a ``-``
in the name is a ``_`` in the command's module name), with its line in ``privetl --help``.
One line here adds a command."""

ENGINE_SECTION = "Engine commands (no Django, no database)"
PLATFORM_SECTION = "Platform commands (Django; 'privetl help COMMAND' shows its options)"
OTHER_SECTION = "Other commands"


class SectionedGroup(click.Group):
    """A group whose help lists its commands in titled sections, in the order they were added,
    each with its whole first line of help (not cut to fit)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sections: dict[str, list[str]] = {}

    def add_command(
        self, cmd: click.Command, name: str | None = None, section: str = OTHER_SECTION
    ) -> None:
        """Add ``cmd`` under ``name`` (default: its own) to ``section`` of the help."""
        super().add_command(cmd, name)
        self.sections.setdefault(section, []).append(name or str(cmd.name))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for names in self.sections.values() for name in names]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for title, names in self.sections.items():
            rows = [(name, self.commands[name].get_short_help_str(limit=200)) for name in names]
            with formatter.section(title):
                formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """The command named by ``args[0]``; an unknown name is a usage error that points to
        ``privetl manage``, where Django's other management commands live."""
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:
            name = exc.command_name
            raise click.exceptions.NoSuchCommand(
                name,
                f"No such command {name!r}. Django's other management commands run as "
                f"'privetl manage {name}' ('privetl manage help' lists them).",
                possibilities=self.commands,
                ctx=ctx,
            ) from None


class DjangoCommand(click.Command):
    """A command that hands its arguments, untouched (options, ``--help`` and ``--``
    included), to Django's management command line.

    ``django_name`` is the Django command it runs, or None to take the command's name from
    the first argument (``manage``); ``prog`` is the program name of Django's usage lines.
    """

    def __init__(self, name: str, *, help: str, django_name: str | None, prog: str) -> None:
        super().__init__(name, help=help, short_help=help, add_help_option=False)
        self.django_name = django_name
        self.prog = prog

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.args = list(args)
        return ctx.args

    def invoke(self, ctx: click.Context) -> None:
        head = [] if self.django_name is None else [self.django_name]
        run_django([self.prog, *head, *ctx.args])


def run_django(argv: list[str]) -> None:
    """Run Django's management command line on ``argv`` (``argv[0]``: the program name).

    Django is imported here and only here: the engine's commands never load it.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privetl.config.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(argv)
    except KeyboardInterrupt:
        # Ctrl-C: end with the shell's status of an interrupt, not Click's "aborted".
        raise SystemExit(130) from None


@click.group(
    cls=SectionedGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """privetl: privacy-first ETL. The engine validates and runs data modules on its own; the
    platform serves the governed, audited API over them."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@click.command("help", context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, type=click.UNPROCESSED, metavar="[COMMAND [WORD]...]")
@click.pass_context
def help_command(ctx: click.Context, words: tuple[str, ...]) -> Any:
    """Show a command's help (the same as COMMAND --help), or this list."""
    group_ctx = ctx.parent
    assert group_ctx is not None and isinstance(group_ctx.command, click.Group)
    if not words:
        click.echo(group_ctx.get_help())
        return None
    name, command, rest = group_ctx.command.resolve_command(group_ctx, list(words))
    assert name is not None and command is not None
    with command.make_context(name, [*rest, "--help"], parent=group_ctx) as sub_ctx:
        return command.invoke(sub_ctx)


for _command in engine_cli.cli.commands.values():
    cli.add_command(_command, section=ENGINE_SECTION)
for _name, _line in PLATFORM_COMMANDS.items():
    cli.add_command(
        DjangoCommand(_name, help=_line, django_name=_name.replace("-", "_"), prog="privetl"),
        section=PLATFORM_SECTION,
    )
cli.add_command(
    DjangoCommand(
        "manage",
        help="Any other Django management command: manage NAME [ARGS]... "
        "('privetl manage help' lists them).",
        django_name=None,
        prog="privetl manage",
    )
)
cli.add_command(help_command)


def main(argv: list[str] | None = None) -> None:
    """Run the command line on ``argv`` (``argv[0]``, the program name, is ignored) and exit."""
    args = list(sys.argv if argv is None else argv)[1:]
    sys.exit(engine_cli.invoke(cli, args))


if __name__ == "__main__":
    main()
