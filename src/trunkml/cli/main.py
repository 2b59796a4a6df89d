"""The ``trunkml`` command: a Typer app of thin command groups, with one error boundary.

Every :class:`TrunkmlError` ends the process with the exit code the error class
carries (see ``trunkml.errors``); click's own usage errors exit 2.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from trunkml import __version__
from trunkml.cli import (
    approve,
    audit,
    check_main,
    ct,
    data,
    demo,
    evaluate,
    explain,
    history,
    infra_validate,
    init,
    models,
    monitor,
    pipeline,
    promote,
    rollback,
    score,
    serve,
    status,
    train,
)
from trunkml.cli.output import err, print_error
from trunkml.errors import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, TrunkmlError, UnavailableError, UsageError

app = typer.Typer(
    name="trunkml",
    help="Trunk-based development for ML models: verified data, one model version per commit, gated promotion.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data.app, name="data")
app.add_typer(models.app, name="models")
app.command("init")(init.init_command)
app.command("train")(train.train_command)
app.command("ct")(ct.ct_command)
app.command("evaluate")(evaluate.evaluate_command)
app.command("infra-validate")(infra_validate.infra_validate_command)
app.command("explain")(explain.explain_command)
app.command("approve")(approve.approve_command)
app.add_typer(approve.approvals_app, name="approvals")
app.command("promote")(promote.promote_command)
app.command("rollback")(rollback.rollback_command)
app.command("history")(history.history_command)
app.command("audit")(audit.audit_command)
app.command("status")(status.status_command)
app.command("serve")(serve.serve_command)
app.command("monitor")(monitor.monitor_command)
app.command("score")(score.score_command)
app.command("check-main")(check_main.check_main_command)
app.add_typer(pipeline.app, name="pipeline")
app.command("demo")(demo.demo)


def _version(value: bool) -> None:
    if value:
        print(f"trunkml {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Trunk-based development for ML models."""


def _from_validation(exc: ValidationError) -> UsageError:
    first = exc.errors()[0]
    field = ".".join(map(str, first["loc"]))
    message = str(first["msg"]).removeprefix("Value error, ")
    return UsageError(f"invalid value for '{field}': {message}" if field else message)


def _from_the_store(exc: Exception) -> bool:
    """Whether ``exc`` is MLflow's (checked without importing MLflow, which a command may never have loaded)."""
    module = sys.modules.get("mlflow.exceptions")
    return module is not None and isinstance(exc, module.MlflowException)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console-script entry point exits with it)."""
    args = sys.argv[1:] if argv is None else argv
    as_json = "--json" in args
    if any("\x00" in arg for arg in args):  # a shell cannot pass one; a caller building argv by hand can
        print_error(UsageError("an argument contains a NUL byte"), as_json=as_json)
        return EXIT_USAGE
    try:
        code = app(args=args, prog_name="trunkml", standalone_mode=False)
    except TrunkmlError as exc:
        print_error(exc, as_json=as_json)
        return exc.exit_code
    except ValidationError as exc:
        print_error(_from_validation(exc), as_json=as_json)
        return EXIT_USAGE
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `| head`): nothing more to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps interpreter shutdown from raising again
        return EXIT_OK
    except OSError as exc:  # the file system said no (TRUNKML_HOME unwritable, disk full, ...)
        where = f" ({exc.filename})" if exc.filename else ""
        print_error(
            UnavailableError(f"{exc.strerror or exc}{where}", hint="check TRUNKML_HOME and disk space"), as_json=as_json
        )
        return EXIT_UNAVAILABLE
    except typer.TyperException as exc:  # argument parsing errors from the CLI framework
        show = getattr(exc, "show", None)
        if callable(show):
            show(file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # the tracking store failed somewhere no narrower handler expected it
        if not _from_the_store(exc):
            raise
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        print_error(
            UnavailableError(f"the tracking store failed: {first}", hint="check that it answers, then run it again"),
            as_json=as_json,
        )
        return EXIT_UNAVAILABLE
    return code if isinstance(code, int) else EXIT_OK


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(run())
