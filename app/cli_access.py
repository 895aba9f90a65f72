"""``ece token``, ``ece users`` and ``ece audit``: tokens of the embedded issuer, its users, the audit trail."""

from __future__ import annotations

import asyncio

import typer

from app import cli_common
from app.settings import get_settings


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
users = typer.Typer(help="Usuarios del emisor embebido. / Users of the embedded issuer.", no_args_is_help=True)


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
        engine = make_async_engine(cli_common.database_url(), pool_size=1)
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


@audit_commands.command("verify")
def audit_verify() -> None:
    """Comprueba la cadena de hashes del registro de auditoría y nombra el primer eslabón roto. / Check the audit
    trail's hash chain and name the first broken link (exit code 1)."""
    from app.db import make_async_engine
    from ece.audit import verify

    async def check():
        engine = make_async_engine(cli_common.database_url(), pool_size=1)
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


def register(cli: typer.Typer) -> None:
    cli.command()(token)
    cli.add_typer(users, name="users")
    cli.add_typer(audit_commands, name="audit")
