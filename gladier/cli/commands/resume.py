"""``gladier resume``: continue every unfinished run and wait for them."""

from __future__ import annotations

import click

from gladier.cli.errors import EXIT_RUN_FAILED
from gladier.cli.helpers import echo_json, existing_engine, quietly
from gladier.cli.options import (
    collections_option,
    db_option,
    json_option,
    timeout_option,
    tokens_option,
)


@click.command(short_help="Continue unfinished runs (all, or those named) and wait for them.")
@click.argument("run_ids", metavar="[RUN_ID]...", nargs=-1)
@click.option("--flow", "flow_id", metavar="FLOW_ID",
              help="Only runs of this flow (see 'gladier runs list').")
@json_option
@db_option
@collections_option
@tokens_option
@timeout_option
def resume(run_ids: tuple[str, ...], flow_id: str | None, as_json: bool, db: str | None,
           collections: dict | None, tokens: dict | None, timeout: float | None) -> None:
    """Continue unfinished runs in the database (e.g. after a crash or Ctrl-C) and wait for
    them: every one, or only the RUN_IDs given, or only runs of --flow.

    Each run continues from its last completed step; actions already started are not started
    again, and a step interrupted by Ctrl-C or SIGTERM runs again from its start. Runs that
    another live process drives are left to it. Waiting stops when each run has ended or
    needs a person (INACTIVE). This command registers no compute functions: a compute task
    that still has to run leaves its run INACTIVE (never FAILED), for a resume from the
    script that registers the function. Exit status 0 when every resumed run SUCCEEDED (or
    none was unfinished), else 1.
    """
    from gladier.ui.progress import failure_reason, follow

    engine = existing_engine(db, collections=collections, tokens=tokens)
    taken = [] if engine is None else engine.resume(list(run_ids) if run_ids else None,
                                                    flow_id=flow_id)
    finals = [follow(engine, run_id, renderer=quietly, timeout=timeout) for run_id in taken]
    if as_json:
        echo_json(finals)
    elif not finals:
        click.echo("no unfinished runs")
    else:
        for final in finals:
            reason = "" if final.get("status") == "SUCCEEDED" else failure_reason(final)
            click.echo(f"run {final.get('run_id')} {final.get('status')}"
                       + (f": {reason}" if reason else ""))
        if any((final.get("details") or {}).get("code") == "FunctionNotRegistered"
               for final in finals):
            click.echo("Hint: register the functions the run needs "
                       "(LocalEngine.register_function) and call LocalEngine(db).resume() "
                       "from your script", err=True)
    succeeded = all(final.get("status") == "SUCCEEDED" for final in finals)
    click.get_current_context().exit(0 if succeeded else EXIT_RUN_FAILED)
