"""The ``ece`` command: serve, migrate, setup, load, seed, db-url, worker, beat, reindex, profiles and run
(``make run``); access and audit commands live in app.cli_access, the referral engine's in app.cli_referral."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
from pathlib import Path

import typer

from app import cli_access, cli_common, cli_referral
from app.settings import get_settings

cli = typer.Typer(help="ECE Honduras: expediente clínico electrónico (FHIR R4). / Electronic clinical record.",
                  no_args_is_help=True, add_completion=False)


@cli.command("db-url")
def db_url() -> None:
    """Print the database URL in use (starting the embedded PostgreSQL when none is configured)."""
    from app.db import libpq_url

    typer.echo(libpq_url(cli_common.database_url()))


@cli.command()
def migrate() -> None:
    """Apply the Alembic migrations up to the latest revision."""
    from app import migrate as migrations

    migrations.upgrade(cli_common.database_url())
    typer.echo("Migraciones aplicadas / migrations applied")


@cli.command()
def serve(host: str = typer.Option(None, help="Interface to listen on (ECE_HOST)."),
          port: int = typer.Option(None, help="Port (ECE_PORT)."),
          workers: int = typer.Option(None, help="Worker processes (ECE_WORKERS).")) -> None:
    """Serve the API (FHIR base /fhir, docs at /docs). Refuses to start on a database that is not migrated."""
    from app import migrate as migrations

    settings = get_settings()
    url = cli_common.database_url()
    pending = migrations.pending_revision(url)
    if pending is not None:
        typer.echo(f"La base de datos no está migrada ({pending}); ejecute `ece migrate`. / The database is not "
                   f"migrated; run `ece migrate`.", err=True)
        raise typer.Exit(code=2)
    _serve(host or settings.host, port or settings.port, workers or settings.workers)


def _serve(host: str, port: int, workers: int) -> None:
    from app.serve import serve as run_server

    typer.echo(f"ECE escuchando en / listening on http://{host}:{port}  (FHIR: /fhir, docs: /docs)")
    run_server(host, port, workers)


profiles = typer.Typer(help="Perfiles nacionales y terminología. / National profiles and terminology.",
                        no_args_is_help=True)
cli.add_typer(profiles, name="profiles")


@profiles.command("install")
def profiles_install() -> None:
    """Carga los StructureDefinition, CodeSystem y ValueSet nacionales en el almacén; se puede repetir. /
    Load the national conformance resources into the store; safe to re-run."""
    summary = _install_profiles(cli_common.database_url())
    typer.echo(f"Perfiles / profiles: {summary.created} creados / created, {summary.updated} actualizados / "
               f"updated, {summary.unchanged} sin cambios / unchanged, {summary.refused} rechazados / refused")
    for example in summary.examples:
        typer.echo(f"  - {example}")
    if summary.refused:
        raise typer.Exit(code=1)


def _install_profiles(url: str):
    from app.db import make_async_engine
    from fhir_profiles.install import install_definitions

    async def main():
        engine = make_async_engine(url, pool_size=2)
        try:
            return await install_definitions(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


@cli.command()
def setup() -> None:
    """Migra la base de datos y escribe las definiciones del servidor (perfiles y terminología nacionales, Measure
    e indicadores, OperationDefinition); lo que un despliegue ejecuta antes de la API y los workers; se puede
    repetir. / Migrate and write this server's definitions; what a deployment runs first; safe to re-run."""
    from app import migrate as migrations

    url = cli_common.database_url()
    migrations.upgrade(url)
    refused, written = _install_definitions(url)
    typer.echo(f"Migraciones aplicadas; definiciones escritas / migrations applied; definitions written: {written}")
    if refused:
        typer.echo(f"Definiciones rechazadas / refused definitions: {refused}", err=True)
        raise typer.Exit(code=1)


def _install_definitions(url: str) -> tuple[int, int]:
    """(refused, written): the national profiles and terminology, then the referral engine's and the access
    operations' definitions; only what is missing or changed is written."""
    from ece.access.operations import install_access_operations

    async def operations(tx) -> int:
        return await cli_referral.install_referral_definitions(tx) + await install_access_operations(tx)

    summary = _install_profiles(url)
    written = cli_common.with_unit_of_work(url, operations)
    return summary.refused, summary.created + summary.updated + written


@cli.command()
def run() -> None:
    """Start everything for a demo or development: PostgreSQL (embedded by default), migrations, the national
    profiles, a Celery worker and beat (broker: ECE_BROKER_URL, else the same PostgreSQL), the API."""
    from app import migrate as migrations

    settings = get_settings()
    url = cli_common.database_url()  # also exports ECE_DATABASE_URL: the worker and beat use the same (embedded) server
    migrations.upgrade(url)
    _install_definitions(url)
    _seed_demo_if_empty(url, settings.demo_patients)
    background = _start_background_processes()
    try:
        _serve(settings.host, settings.port, settings.workers)
    finally:
        _stop(background)


BACKGROUND_STOP_SECONDS = 15
DEMO_SEED = 2026


def _seed_demo_if_empty(url: str, patients: int) -> None:
    """On the first start (no Patient stored yet) write the synthetic network, so the demo is never empty."""
    from sqlalchemy import text

    from app.db import make_sync_engine

    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            empty = not conn.execute(text("SELECT EXISTS (SELECT 1 FROM resource WHERE resource_type = 'Patient')")
                                     ).scalar_one()
    finally:
        engine.dispose()
    if not empty or patients == 0:
        return
    typer.echo(f"Base vacía: se siembran {patients} pacientes sintéticos (ECE_DEMO_PATIENTS) / empty database: "
               f"seeding {patients} synthetic patients")
    report, states, _seconds = _seed(url, patients=patients, seed=DEMO_SEED, facilities=None, workers=None)
    typer.echo(f"Sembrados / seeded: {report.resources:,} recursos / resources, {sum(states.values())} "
               f"referencias / referrals, en / in {report.seconds:.0f} s")
    _report_indicators(url)


def _report_indicators(url: str) -> None:
    """The MeasureReports of last month and this one, as ``ece beat`` stores them every night, so the demo's
    indicators are there from the first start."""
    from app.indicator_tasks import run_monthly
    from ece import store
    from ece.tx import unit_of_work

    async def main() -> int:
        from app.db import make_async_engine

        engine = make_async_engine(url, pool_size=2)
        try:
            return await run_monthly(lambda: unit_of_work(engine), now=store.now())
        finally:
            await engine.dispose()

    typer.echo(f"Indicadores / indicators: {asyncio.run(main())} MeasureReport")


def _start_background_processes() -> list[subprocess.Popen]:
    """``ece worker`` and ``ece beat`` as child processes (real processes, not eager mode)."""
    started = []
    for command in (["worker"], ["beat"]):
        started.append(subprocess.Popen([sys.executable, "-m", "app", *command]))
    typer.echo("Trabajador y planificador de Celery iniciados / Celery worker and beat started")
    return started


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(BACKGROUND_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()


@cli.command()
def load(paths: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                             help="Bundles (JSON) or NDJSON files.")) -> None:
    """Load FHIR data through the store's write path; safe to re-run. Prints what was created, updated,
    left unchanged and refused (with the reasons)."""
    from tqdm import tqdm

    from app.db import make_async_engine
    from ece import limits
    from ece.loader import LoadSummary, load_paths
    from fhir_profiles.enforcement import install_validator

    settings = get_settings()
    limits.configure(max_json_depth=settings.max_json_depth)
    install_validator(settings.enforced_profile_types)  # loads obey the national profiles as the API does
    from app.referrals import install_referral_engine

    install_referral_engine(settings)  # and a loaded referral opens its Task as one sent through the API
    from app.celery_app import install_notifications

    install_notifications(settings)  # loaded resources match R4 Subscriptions as API writes do
    url = cli_common.database_url()
    total = sum(p.stat().st_size for p in paths)
    summary = LoadSummary()

    async def main() -> None:
        engine = make_async_engine(url, pool_size=2)
        try:
            with tqdm(total=total, unit="B", unit_scale=True, desc="Cargando / loading", file=sys.stderr) as bar:
                await load_paths(engine, paths, summary, bar.update)
        finally:
            await engine.dispose()

    asyncio.run(main())
    typer.echo(f"Creados / created: {summary.created}")
    typer.echo(f"Actualizados / updated: {summary.updated}")
    typer.echo(f"Sin cambios / unchanged: {summary.unchanged}")
    typer.echo(f"Rechazados / refused: {summary.refused}")
    for reason, count in summary.reasons.most_common(10):
        typer.echo(f"  {count} × {reason}")
    for example in summary.examples:
        typer.echo(f"  - {example}")
    if summary.refused:
        raise typer.Exit(code=1)


@cli.command("seed")
def seed_command(
        patients: int = typer.Option(300, min=0, help="Pacientes / patients (about 50 resources each)."),
        seed: int = typer.Option(2026, help="Semilla: la misma da los mismos datos / same seed, same data."),
        facilities: int = typer.Option(None, min=1, help="Establecimientos / facilities (default 200)."),
        database_url: str = typer.Option(None, help="Base de datos / database (default: ECE_DATABASE_URL)."),
        workers: int = typer.Option(None, min=0, help="Procesos generadores / generator processes "
                                    "(default: one per CPU; 0 generates in this process)."),
        referrals: int = typer.Option(None, min=0, help="Referencias / referrals (default: 5 per 100 patients), "
                                      "in every state of the lifecycle.")) -> None:
    """Escribe una red de salud hondureña sintética (establecimientos, profesionales, pacientes y sus
    expedientes) por la vía de escritura del almacén; se puede repetir. / Write a synthetic Honduran health
    network through the store's write path; safe to re-run."""
    report, states, seconds = _seed(database_url or cli_common.database_url(), patients=patients, seed=seed,
                                    facilities=facilities, workers=workers, referrals=referrals)
    summary = report.summary
    typer.echo(f"Recursos / resources: {report.resources:,} en / in {report.seconds:.1f} s = "
               f"{report.per_second:,.0f}/s")
    typer.echo(f"Creados / created: {summary.created}, actualizados / updated: {summary.updated}, "
               f"sin cambios / unchanged: {summary.unchanged}, rechazados / refused: {summary.refused}")
    for example in summary.examples:
        typer.echo(f"  - {example}")
    typer.echo(f"Referencias en / referrals in {seconds:.1f} s, por estado / by status: "
               + (", ".join(f"{name} {count}" for name, count in sorted(states.items())) or "0"))
    refused = [name for name in states if name.startswith("refused")]
    if summary.refused or refused:
        raise typer.Exit(code=1)


def _seed(url: str, *, patients: int, seed: int, facilities: int | None, workers: int | None,
          referrals: int | None = None):
    import os
    import time

    from tqdm import tqdm

    from app.celery_app import install_notifications
    from app.db import make_async_engine
    from app.referrals import configure_referral_engine
    from ece import limits, store
    from fhir_profiles.enforcement import install_validator
    from synthetic import network
    from synthetic import referrals as synthetic_referrals
    from synthetic.writer import generation, seed_network

    settings = get_settings()
    limits.configure(max_json_depth=settings.max_json_depth)
    install_validator(settings.enforced_profile_types)  # the same national profiles as the API and `ece load`
    configure_referral_engine(settings)  # its search parameters and deadlines; seed opens each referral itself
    install_notifications(settings)  # seeded resources match R4 Subscriptions as API writes do
    net = network.build(seed, facilities or network.DEFAULT_FACILITIES)
    processes = (os.cpu_count() or 1) if workers is None else workers

    async def main(chunks):
        engine = make_async_engine(url, pool_size=3)
        try:
            with tqdm(total=patients, unit="pac", desc="Sembrando / seeding", file=sys.stderr) as bar:
                written = [0]

                def progress(done_patients: int, resources: int) -> None:
                    written[0] += resources
                    bar.set_postfix_str(f"{written[0]:,} recursos / resources", refresh=False)
                    bar.update(done_patients)

                report = await seed_network(engine, chunks, progress)
            began = time.perf_counter()
            plans = synthetic_referrals.plans(net, patients=patients, count=referrals)
            states = await synthetic_referrals.write_all(engine, plans, now=store.now())
            return report, states, time.perf_counter() - began
        finally:
            await engine.dispose()

    with generation(net, patients=patients, workers=processes) as chunks:  # forks before any thread or connection
        return asyncio.run(main(chunks))


DEFAULT_WORKER_THREADS = 8


@cli.command()
def worker(concurrency: int = typer.Option(None, min=1, help="Hilos o procesos / threads or processes (por "
                                           "defecto / default: 8 threads, or one process per CPU)."),
           loglevel: str = typer.Option("info", help="Nivel de registro / log level."),
           name: str = typer.Option(None, help="Nombre del nodo (por defecto ECE_TASK_QUEUE@host); dos trabajadores "
                                    "en una máquina necesitan nombres distintos / node name (default "
                                    "ECE_TASK_QUEUE@host); two workers on one machine need different names."),
           pool: str = typer.Option("threads", help="threads (por defecto / default) o / or prefork.")) -> None:
    """Procesa las tareas en segundo plano (cola ECE_TASK_QUEUE, "ece"). / Run the background task worker.

    Broker: ECE_BROKER_URL, or PostgreSQL itself (kombu's SQLAlchemy transport) when it is empty."""
    from app.celery_app import celery

    if pool not in ("threads", "prefork"):
        typer.echo("--pool: threads o / or prefork", err=True)
        raise typer.Exit(code=2)
    # Named after the queue: Celery's default (celery@host) collides with any other deployment on the same broker
    # and host. No mingle or gossip: nothing to synchronise, and mingle adds a second to start-up.
    # Threads by default: deliveries mostly wait on PostgreSQL, SMTP and HTTP, and a threads pool measured 6 CPU ms
    # per delivery against 10 with prefork, whose parent hands every message to a child through a pipe
    # (bench/notifications.py).
    node = name or get_settings().task_queue
    argv = ["worker", f"--loglevel={loglevel}", f"--hostname={node}@%h", "--without-mingle", "--without-gossip",
            f"--pool={pool}"]
    if concurrency or pool == "threads":
        argv.append(f"--concurrency={concurrency or DEFAULT_WORKER_THREADS}")
    celery.worker_main(argv)


@cli.command()
def beat(loglevel: str = typer.Option("info", help="Nivel de registro / log level.")) -> None:
    """Encola las tareas periódicas; ejecute uno solo. / Queue the periodic tasks; run exactly one.

    Its schedule state is kept under ECE_DATA_DIR."""
    from app.celery_app import celery

    get_settings().data_dir.mkdir(parents=True, exist_ok=True)
    celery.start(["beat", f"--loglevel={loglevel}"])


@cli.command()
def reindex(resource_type: list[str] = typer.Option(None, "--type", help="Resource types (default: every type)."),
            restart: bool = typer.Option(False, help="Start over instead of resuming.")) -> None:
    """Rebuild the search indexes (after a search parameter changes); resumable, the server keeps serving.
    / Reconstruye los índices de búsqueda; se puede reanudar y el servidor sigue atendiendo."""
    from tqdm import tqdm

    from app.db import make_async_engine
    from ece.reindex import reindex_type, remaining
    from ece.resource_types import is_served, served_types

    types = resource_type or list(served_types())
    unknown = [t for t in types if not is_served(t)]
    if unknown:
        typer.echo(f"Tipos desconocidos / unknown types: {', '.join(unknown)}", err=True)
        raise typer.Exit(code=2)
    url = cli_common.database_url()
    from app.referrals import install_referral_engine

    install_referral_engine(get_settings())  # the referral engine's search parameters are indexed too

    async def rebuild() -> None:
        engine = make_async_engine(url, pool_size=2)
        try:
            totals = {t: await remaining(engine, t, restart=restart) for t in types}
            with tqdm(total=sum(totals.values()), unit="res", desc="Reindexando / reindexing",
                      file=sys.stderr) as bar:
                for t in types:
                    if totals[t]:
                        await reindex_type(engine, t, bar.update)
        finally:
            await engine.dispose()

    asyncio.run(rebuild())
    typer.echo("Índices reconstruidos / indexes rebuilt")


cli_access.register(cli)
cli_referral.register(cli)


def main() -> None:
    # SIGTERM becomes a normal exit, so an embedded PostgreSQL this process started is stopped too
    # (uvicorn re-raises the signal it caught once it has shut down).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cli()
