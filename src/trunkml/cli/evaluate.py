"""``trunkml evaluate``: the champion/challenger gate on the frozen evaluation set."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from trunkml.cli.context import load_settings
from trunkml.cli.output import err, out, print_json
from trunkml.errors import EXIT_REFUSED

if TYPE_CHECKING:  # the gate loads MLflow and matplotlib: only when this command runs
    from trunkml.evaluation.evaluate import EvaluationResult


def _render(result: EvaluationResult) -> None:
    decision = result.decision
    colour, verdict = ("green", "PROMOTE") if decision.promote else ("red", "REJECT")
    alias = " (@champion)" if result.champion_ref == "@champion" else ""
    against = f"v{result.champion}{alias}" if result.champion is not None else "no champion (cold start)"
    out.print(
        f"[bold {colour}]{verdict}[/] {result.model} v{result.challenger} vs {against} "
        f"on {result.eval_dataset} ({decision.n} rows"
        + (f", {decision.positives} positives)" if decision.task == "binary" else f", {decision.task})")
    )
    for reason in decision.reasons[1:] if decision.mode == "paired" else decision.reasons:
        out.print(f"  • {reason}", highlight=False)
    table = Table("predictions", "from")
    for version, source in result.predictions.items():
        table.add_row(version, source)
    out.print(table)
    out.print(f"report: {result.reports['html']}\n        {result.reports['markdown']}")
    out.print(f"decision recorded on v{result.challenger} ({result.record}), {result.seconds:.1f} s")


def evaluate_command(
    champion: Annotated[
        str, typer.Option(help="Champion ref (default @champion; none yet = cold start).")
    ] = "@champion",
    challenger: Annotated[str, typer.Option(help="Challenger ref.")] = "@challenger",
    eval_dataset: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--eval", help="Evaluation dataset (default: gate.eval in trunkml.yaml)."),
    ] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model (default: trunkml.yaml).")] = None,  # noqa: UP045
    report_dir: Annotated[Optional[Path], typer.Option(help="Where to write gate.md and gate.html.")] = None,  # noqa: UP045
    fail_on_reject: Annotated[bool, typer.Option("--fail-on-reject", help="Exit 1 when the gate rejects.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the decision as one JSON document.")] = False,
) -> None:
    """Decide whether the challenger beats the champion: paired one-sided test, guards, cold-start floors."""
    from trunkml.evaluation.evaluate import EvaluateRequest, evaluate

    request = EvaluateRequest(
        model=model, champion=champion, challenger=challenger, eval=eval_dataset, report_dir=report_dir
    )
    with err.status("starting", spinner="dots") as status:
        result = evaluate(load_settings(), request, lambda phase: status.update(phase))
    print_json(result) if json_ else _render(result)
    if fail_on_reject and not result.decision.promote:
        raise typer.Exit(EXIT_REFUSED)
