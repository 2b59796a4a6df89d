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
    from trunkml.pipelines.infravalidate import InfraValidation
    from trunkml.pipelines.review import Explained
    from trunkml.registry import ModelVersionRecord


def _render(result: EvaluationResult) -> None:
    decision = result.decision
    colour, verdict = ("green", "PROMOTE") if decision.promote else ("red", "REJECT")
    alias = " (@champion)" if result.champion_ref == "@champion" else ""
    against = f"v{result.champion}{alias}" if result.champion is not None else "no champion (cold start)"
    out.print(
        f"[bold {colour}]{verdict}[/] {result.model} v{result.challenger} vs {against} "
        f"on {result.eval_dataset} ({decision.n} rows, {decision.positives} positives)"
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


def _render_infra(result: InfraValidation) -> None:
    colour, verdict = ("green", "PASSED") if result.passed else ("red", "FAILED")
    out.print(f"[bold {colour}]infra validation {verdict}[/] {result.model} v{result.version}")
    for reason in result.reasons:
        out.print(f"  • {reason}", highlight=False)
    if not result.passed and result.server_log_tail:
        err.print("[dim]the sandboxed server's log ends with:[/]")
        err.print(result.server_log_tail[-1500:], highlight=False, markup=False)
    out.print(f"recorded on v{result.version} ({result.record}), {result.seconds:.1f} s")


def infra_validate_command(
    ref: Annotated[str, typer.Argument(help="Version to validate: @challenger, latest, N or sha:<prefix>.")] = (
        "@challenger"
    ),
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model (default: trunkml.yaml).")] = None,  # noqa: UP045
    endpoint: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Endpoint spec whose limits and budget apply (default: endpoints/<model>/endpoint.yaml)."),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")] = False,
) -> None:
    """Serve a version alone in a sandboxed server, query it, compare with offline predictions; record the result.

    Exit 1 when it fails: promotion refuses a version without a passing infra validation.
    """
    from trunkml.pipelines.infravalidate import infra_validate

    with err.status("starting", spinner="dots") as status:
        result = infra_validate(load_settings(), ref, model, endpoint, lambda phase: status.update(phase))
    print_json(result) if json_ else _render_infra(result)
    if not result.passed:
        raise typer.Exit(EXIT_REFUSED)


def _render_explained(record: ModelVersionRecord, explained: list[Explained]) -> None:
    for item in explained:
        e = item.explanation
        colour = "red" if item.label == 1 else "green"
        out.print(
            f"[bold]{record.ref}[/] label [bold {colour}]{item.label}[/] score {item.score:.3f}: {item.text[:120]!r}",
            highlight=False,
        )
        table = Table("toward hate", "weight", "against hate", "weight", title=e.method, title_justify="left")
        for row in range(max(len(e.toward), len(e.against))):
            up = e.toward[row] if row < len(e.toward) else None
            down = e.against[row] if row < len(e.against) else None
            table.add_row(
                up.feature if up else "", f"{up.weight:+.4f}" if up else "",
                down.feature if down else "", f"{down.weight:+.4f}" if down else "",
            )  # fmt: skip
        out.print(table)
        if e.exact:
            out.print(f"  {e.output} {e.value:+.4f} = base {e.base:+.4f} + listed + the rest ({e.rest or 0:+.4f})")


def explain_command(
    ref: Annotated[str, typer.Argument(help="Version: @champion, @challenger, latest, N or sha:<prefix>.")],
    texts: Annotated[list[str], typer.Argument(help="One or more texts to explain.")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model (default: trunkml.yaml).")] = None,  # noqa: UP045
    top: Annotated[int, typer.Option(help="How many contributions to show each way.")] = 8,
    json_: Annotated[bool, typer.Option("--json", help="Print the explanations as one JSON document.")] = False,
) -> None:
    """Why a version flags a text: the words and n-grams that push it toward hate and away from it."""
    from trunkml.pipelines.review import explain_version

    with err.status("loading the model", spinner="dots"):
        record, explained = explain_version(load_settings(), ref, texts, model, top)
    if json_:
        print_json(
            {
                "model": record.name,
                "version": record.version,
                "explanations": [
                    {"text": e.text, "label": e.label, "score": e.score, **e.explanation.model_dump()}
                    for e in explained
                ],
            }
        )
        return
    _render_explained(record, explained)
