"""``privetl run`` and ``privetl validate``: the engine's command line (no Django, no database).

    privetl run MODULE [--out DIR] [--engine duckdb|spark] [--seed N] [--report FILE]
                       [--report-dir DIR] [--memory-limit SIZE] [--no-progress]
    privetl validate MODULE

The anonymization secret is read from ``PRIVETL_ANONYMIZATION_SECRET`` only — never from
an option, where it would show in the process list and the shell history.

Exit codes:

====  =====================================================================
0     success (run: a new version was published; validate: the module is valid)
1     the module document is invalid (every problem is printed with its JSON path)
2     usage error (unknown option, missing argument, file not found)
3     the run failed (a source, a transformation, an unmet privacy target or the
      publish step); nothing was published, the previous version is intact
4     internal error (a bug): the report is written, the traceback printed
====  =====================================================================
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from privetl.engine.errors import MetadataError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_INTERNAL = 4


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """privetl's ETL engine: validate a data module, or run it to publish a new version."""


@cli.command()
@click.argument("module", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Publish into this directory instead of the module's upload destination.",
)
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    default="duckdb",
    show_default=True,
    help="duckdb: embedded, one machine; spark: Apache Spark (local mode or a cluster).",
)
@click.option(
    "--seed", type=int, default=None, help="Seed of the seeded operations (default: the module's)."
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the JSON report to this file.",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for report.json and quarantine.parquet (default: var/runs/<run id>).",
)
@click.option(
    "--memory-limit", default=None, help="Bound the engine's memory (DuckDB: default 1536MB, it spills to disk past it; Spark: the driver's memory)."
)
@click.option("--no-progress", is_flag=True, help="Never draw the progress bar.")
def run(
    module: Path,
    out: Path | None,
    engine: str,
    seed: int | None,
    report_file: Path | None,
    report_dir: Path | None,
    memory_limit: str | None,
    no_progress: bool,
) -> int:
    """Run MODULE: extract, clean, transform, anonymize, verify and publish its next version."""
    from privetl.engine.report import render_summary
    from privetl.engine.runner import run_module

    try:
        report = run_module(
            module,
            out=out,
            engine=engine,
            seed=seed,
            report_dir=report_dir,
            progress=False if no_progress else None,
            memory_limit=memory_limit,
        )
    except Exception:  # a bug, not an expected failure: the report was written by run_module
        import traceback

        traceback.print_exc()
        return EXIT_INTERNAL
    if report_file is not None:
        report.write(report_file)
    click.echo(render_summary(report))
    if report.status == "succeeded":
        return EXIT_OK
    return EXIT_INVALID if report.error_type == MetadataError.__name__ else EXIT_FAILED


@cli.command()
@click.argument("module", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(module: Path) -> int:
    """Check MODULE and print every problem with its JSON path."""
    from privetl.engine.validate import load_document

    try:
        _, parsed = load_document(module)
    except MetadataError as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        click.echo(f"invalid: {len(exc.problems)} problem(s) in {module}", err=True)
        return EXIT_INVALID
    click.echo(f"valid: {len(parsed.tables)} tables, {len(parsed.collection_protocol)} scripts")
    return EXIT_OK


def invoke(command: click.Command, args: list[str]) -> int:
    """Run ``command`` (this group, or the ``privetl`` group that includes its commands) on
    ``args`` as the program ``privetl``; return the exit code of the table above."""
    try:
        result = command.main(args=args, prog_name="privetl", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_FAILED
    return int(result) if isinstance(result, int) else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (without the program name); return the exit code."""
    return invoke(cli, list(sys.argv[1:] if argv is None else argv))
