"""``ece indicators`` and ``ece referral``: the referral engine's definitions, monthly indicators and diagram."""

from __future__ import annotations

from pathlib import Path

import typer

from app import cli_common

indicators = typer.Typer(help="Indicadores de referencia (Measure, MeasureReport). / Referral indicators.",
                          no_args_is_help=True)


async def install_referral_definitions(tx) -> int:
    """The indicator Measures and the $route OperationDefinition; answers how many were written."""
    from referral.indicators_measures import install_measures
    from referral.routing_operation import install_route_operation

    return await install_measures(tx) + int(await install_route_operation(tx))


@indicators.command("install")
def indicators_install() -> None:
    """Escribe las Measure de los indicadores y la OperationDefinition de $route (solo si faltan o cambiaron). /
    Write the indicator Measures and the $route OperationDefinition (only when missing or changed)."""
    written = cli_common.with_unit_of_work(cli_common.database_url(), install_referral_definitions)
    typer.echo(f"Definiciones escritas / definitions written: {written}")


@indicators.command("report")
def indicators_report(month: str = typer.Option(..., help="Mes / month, AAAA-MM (YYYY-MM).")) -> None:
    """Calcula y guarda los MeasureReport del mes por establecimiento, región y país; se puede repetir (actualiza).
    / Compute and store the month's MeasureReports per facility, region and country; re-running updates them."""
    from referral.indicators import store_monthly_reports

    async def work(tx):
        return await store_monthly_reports(tx, month=month)

    results = cli_common.with_unit_of_work(cli_common.database_url(), work)
    created = sum(1 for r in results if r.status == 201)
    typer.echo(f"MeasureReport: {created} creados / created, {len(results) - created} actualizados / updated")



referral_cli = typer.Typer(help="Motor de referencia y respuesta. / Referral engine.", no_args_is_help=True)


@referral_cli.command("diagram")
def referral_diagram(output: Path = typer.Option(Path("docs/referral-lifecycle.md"), help="Archivo / file.")) -> None:
    """Escribe el diagrama del ciclo de la referencia generado de la máquina de estados. / Write the referral
    lifecycle document generated from the declared state machine."""
    from referral.diagram import document

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document(), encoding="utf-8")
    typer.echo(f"{output}")


def register(cli: typer.Typer) -> None:
    cli.add_typer(indicators, name="indicators")
    cli.add_typer(referral_cli, name="referral")
