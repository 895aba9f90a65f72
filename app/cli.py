"""The ``ece`` command: serve, migrate, load, db-url, worker, beat, indicators, token and run (``make run``)."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
from pathlib import Path

import typer

from app.settings import get_settings

cli = typer.Typer(help="ECE Honduras: expediente clínico electrónico (FHIR R4). / Electronic clinical record.",
                  no_args_is_help=True, add_completion=False)


def _database_url() -> str:
    from app.db import resolve_database_url

    return resolve_database_url(get_settings())


@cli.command("db-url")
def db_url() -> None:
    """Print the database URL in use (starting the embedded PostgreSQL when none is configured)."""
    from app.db import libpq_url

    typer.echo(libpq_url(_database_url()))


@cli.command()
def migrate() -> None:
    """Apply the Alembic migrations up to the latest revision."""
    from app import migrate as migrations

    migrations.upgrade(_database_url())
    typer.echo("Migraciones aplicadas / migrations applied")


@cli.command()
def serve(host: str = typer.Option(None, help="Interface to listen on (ECE_HOST)."),
          port: int = typer.Option(None, help="Port (ECE_PORT)."),
          workers: int = typer.Option(None, help="Worker processes (ECE_WORKERS).")) -> None:
    """Serve the API (FHIR base /fhir, docs at /docs). Refuses to start on a database that is not migrated."""
    from app import migrate as migrations

    settings = get_settings()
    url = _database_url()
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
    summary = _install_profiles(_database_url())
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


indicators = typer.Typer(help="Indicadores de referencia (Measure, MeasureReport). / Referral indicators.",
                          no_args_is_help=True)
cli.add_typer(indicators, name="indicators")


def _with_unit_of_work(url: str, work):
    """Run ``work(tx)`` in one transaction on its own engine; answers its result."""
    from app.db import make_async_engine
    from ece.tx import unit_of_work

    async def main():
        engine = make_async_engine(url, pool_size=2)
        try:
            async with unit_of_work(engine) as tx:
                return await work(tx)
        finally:
            await engine.dispose()

    return asyncio.run(main())


async def _install_referral_definitions(tx) -> int:
    """The indicator Measures and the $route OperationDefinition; answers how many were written."""
    from referral.indicators_measures import install_measures
    from referral.routing_operation import install_route_operation

    return await install_measures(tx) + int(await install_route_operation(tx))


@indicators.command("install")
def indicators_install() -> None:
    """Escribe las Measure de los indicadores y la OperationDefinition de $route (solo si faltan o cambiaron). /
    Write the indicator Measures and the $route OperationDefinition (only when missing or changed)."""
    written = _with_unit_of_work(_database_url(), _install_referral_definitions)
    typer.echo(f"Definiciones escritas / definitions written: {written}")


@indicators.command("report")
def indicators_report(month: str = typer.Option(..., help="Mes / month, AAAA-MM (YYYY-MM).")) -> None:
    """Calcula y guarda los MeasureReport del mes por establecimiento, región y país; se puede repetir (actualiza).
    / Compute and store the month's MeasureReports per facility, region and country; re-running updates them."""
    from referral.indicators import store_monthly_reports

    async def work(tx):
        return await store_monthly_reports(tx, month=month)

    results = _with_unit_of_work(_database_url(), work)
    created = sum(1 for r in results if r.status == 201)
    typer.echo(f"MeasureReport: {created} creados / created, {len(results) - created} actualizados / updated")


@cli.command()
def run() -> None:
    """Start everything for a demo or development: PostgreSQL (embedded by default), migrations, the national
    profiles, a Celery worker and beat (broker: ECE_BROKER_URL, else the same PostgreSQL), the API."""
    from app import migrate as migrations

    settings = get_settings()
    url = _database_url()  # also exports ECE_DATABASE_URL: the worker and beat use the same (embedded) server
    migrations.upgrade(url)
    _install_profiles(url)
    _with_unit_of_work(url, _install_referral_definitions)
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
    report, states = _seed(url, patients=patients, seed=DEMO_SEED, facilities=None, workers=None)
    typer.echo(f"Sembrados / seeded: {report.resources:,} recursos / resources, {sum(states.values())} "
               f"referencias / referrals, en / in {report.seconds:.0f} s")


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
    url = _database_url()
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
    report, states = _seed(database_url or _database_url(), patients=patients, seed=seed, facilities=facilities,
                           workers=workers, referrals=referrals)
    summary = report.summary
    typer.echo(f"Recursos / resources: {report.resources:,} en / in {report.seconds:.1f} s = "
               f"{report.per_second:,.0f}/s")
    typer.echo(f"Creados / created: {summary.created}, actualizados / updated: {summary.updated}, "
               f"sin cambios / unchanged: {summary.unchanged}, rechazados / refused: {summary.refused}")
    for example in summary.examples:
        typer.echo(f"  - {example}")
    typer.echo("Referencias por estado / referrals by status: "
               + (", ".join(f"{name} {count}" for name, count in sorted(states.items())) or "0"))
    refused = [name for name in states if name.startswith("refused")]
    if summary.refused or refused:
        raise typer.Exit(code=1)


def _seed(url: str, *, patients: int, seed: int, facilities: int | None, workers: int | None,
          referrals: int | None = None):
    import os

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
            plans = synthetic_referrals.plans(net, patients=patients, count=referrals)
            states = await synthetic_referrals.write_all(engine, plans, now=store.now())
            return report, states
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
    url = _database_url()
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


@cli.command()
def token(sub: str = typer.Option(..., "--sub", help="Sujeto / subject (usuario o cliente / user or client)."),
          role: str = typer.Option(..., "--role", help="clinician, coordinator, patient, admin o system."),
          facility: str = typer.Option(None, "--facility", help="Organization/ID (clinician)."),
          practitioner_role: str = typer.Option(None, "--practitioner-role", help="PractitionerRole/ID."),
          patient: str = typer.Option(None, "--patient", help="Patient/ID (patient)."),
          region: str = typer.Option(None, "--region", help="Código de región sanitaria / health region code."),
          scope: str = typer.Option("", "--scope", help='Ámbitos SMART / SMART scopes, e.g. "system/*.read".'),
          minutes: int = typer.Option(60, "--minutes", min=1, max=24 * 60, help="Validez / lifetime (minutes)."),
          name: str = typer.Option(None, "--name", help="Nombre a mostrar / display name.")) -> None:
    """Emite un token del emisor embebido; lo imprime solo, en la última línea. / Mint a token of the embedded
    issuer; it is printed alone on the last line."""
    from app.security import local_issuer
    from ece.access import Actor, Role
    from ece.access.errors import Unauthenticated
    from ece.access.tokens import actor_from_claims

    if role not in {r.value for r in Role}:
        typer.echo(f"Rol desconocido / unknown role: {role}", err=True)
        raise typer.Exit(code=2)
    claims = {"sub": sub, "role": role, "facility": facility, "practitioner_role": practitioner_role,
              "patient": patient, "region": region, "scope": scope}
    try:
        actor: Actor = actor_from_claims(claims)
    except Unauthenticated as error:
        typer.echo(error.reason, err=True)
        raise typer.Exit(code=2) from None
    settings = get_settings()
    if settings.auth_jwks_url:
        typer.echo("ECE_AUTH_JWKS_URL está configurado: los tokens los emite el proveedor de identidad / tokens "
                   "come from the identity provider", err=True)
        raise typer.Exit(code=2)
    typer.echo(local_issuer(settings).mint(actor, minutes=minutes, name=name))
referral_cli = typer.Typer(help="Motor de referencia y respuesta. / Referral engine.", no_args_is_help=True)
cli.add_typer(referral_cli, name="referral")


@referral_cli.command("diagram")
def referral_diagram(output: Path = typer.Option(Path("docs/referral-lifecycle.md"), help="Archivo / file.")) -> None:
    """Escribe el diagrama del ciclo de la referencia generado de la máquina de estados. / Write the referral
    lifecycle document generated from the declared state machine."""
    from referral.diagram import document

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document(), encoding="utf-8")
    typer.echo(f"{output}")





users = typer.Typer(help="Usuarios del emisor embebido. / Users of the embedded issuer.", no_args_is_help=True)
cli.add_typer(users, name="users")


@users.command("add")
def users_add(username: str = typer.Argument(..., help="Nombre de usuario o id de cliente / username or client id."),
              role: str = typer.Option(..., "--role", help="clinician, coordinator, patient, admin o system."),
              name: str = typer.Option(None, "--name", help="Nombre a mostrar / display name."),
              facility: str = typer.Option(None, "--facility", help="Organization/ID (clinician)."),
              practitioner_role: str = typer.Option(None, "--practitioner-role", help="PractitionerRole/ID."),
              patient: str = typer.Option(None, "--patient", help="Patient/ID (patient)."),
              region: str = typer.Option(None, "--region", help="Código de región / region code (coordinator)."),
              scope: str = typer.Option("", "--scope", help="Ámbitos SMART / SMART scopes (system clients)."),
              password: str = typer.Option(..., prompt="Contraseña / password", hide_input=True,
                                           confirmation_prompt=True, envvar="ECE_NEW_USER_PASSWORD",
                                           help="Se pide si no se da (o ECE_NEW_USER_PASSWORD) / prompted when "
                                                "not given")) -> None:
    """Crea un usuario (argon2id) que puede iniciar sesión en /auth/login, o un cliente `system` para
    /auth/token. / Create a user of the embedded issuer, or a system client."""
    from app.db import make_async_engine
    from ece.access.users import add_user
    from ece.errors import FhirError
    from ece.tx import unit_of_work

    async def create() -> None:
        engine = make_async_engine(_database_url(), pool_size=1)
        try:
            async with unit_of_work(engine) as tx:
                await add_user(tx, username=username, password=password, role=role, display_name=name,
                               facility=facility, practitioner_role=practitioner_role, patient=patient, region=region,
                               scopes=scope)
        finally:
            await engine.dispose()

    try:
        asyncio.run(create())
    except FhirError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"Usuario creado / user created: {username} ({role})")


audit_commands = typer.Typer(help="Registro de auditoría. / Audit trail.", no_args_is_help=True)
cli.add_typer(audit_commands, name="audit")


@audit_commands.command("verify")
def audit_verify() -> None:
    """Comprueba la cadena de hashes del registro de auditoría y nombra el primer eslabón roto. / Check the audit
    trail's hash chain and name the first broken link (exit code 1)."""
    from app.db import make_async_engine
    from ece.audit import verify

    async def check():
        engine = make_async_engine(_database_url(), pool_size=1)
        try:
            async with engine.connect() as conn:
                return await verify(conn)
        finally:
            await engine.dispose()

    report = asyncio.run(check())
    if report.intact:
        typer.echo(f"Cadena íntegra / chain intact: {report.checked} eventos / events")
        return
    typer.echo(f"Cadena rota en el eslabón {report.broken_at} / chain broken at link {report.broken_at}: "
               f"{report.reason} ({report.checked} eslabones válidos antes / valid links before it)")
    raise typer.Exit(code=1)


def main() -> None:
    # SIGTERM becomes a normal exit, so an embedded PostgreSQL this process started is stopped too
    # (uvicorn re-raises the signal it caught once it has shut down).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cli()
