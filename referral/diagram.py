"""docs/referral-lifecycle.md, generated from the declared machine (referral.machine): a Mermaid state diagram
and the table of events, parties and required inputs. ``ece referral diagram`` writes it; a test checks the
committed file equals a fresh generation."""

from __future__ import annotations

from referral import machine
from referral.machine import Status

_PARTY_ES = {"origin": "origen", "destination": "destino", "coordinator": "coordinación regional",
             "engine": "motor"}


def _node(status: str) -> str:
    return status.replace("-", "_")


def mermaid() -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {_node(Status.DRAFT)}: crear borrador / create draft",
             f"    [*] --> {_node(Status.REQUESTED)}: crear y enviar / create and send"]
    edges: dict[tuple[str, str], list[str]] = {}
    for step in machine.TRANSITIONS:
        label = f"${step.event}"
        key = (_node(step.source), _node(step.target))
        if label not in edges.setdefault(key, []):
            edges[key].append(label)
    for (source, target), labels in edges.items():
        lines.append(f"    {source} --> {target}: {' '.join(labels)}")
    for status in (Status.COMPLETED, Status.CANCELLED, Status.REJECTED, Status.FAILED, Status.ENTERED_IN_ERROR):
        lines.append(f"    {_node(status)} --> [*]")
    return "\n".join(lines)


def _table() -> list[str]:
    rows = ["| evento / event | desde / from (Task.status, businessStatus) | hacia / to | quién / who | "
            "requiere / requires |", "| --- | --- | --- | --- | --- |"]
    for event, rule in machine.RULES.items():
        steps = [t for t in machine.TRANSITIONS if t.event == event]
        sources = "<br>".join(f"{t.source}" + (f" ({', '.join(sorted(t.only_from))})" if t.only_from else "")
                              for t in steps)
        targets = ", ".join(dict.fromkeys(f"{t.target} ({t.business})" for t in steps))
        who = ", ".join(_PARTY_ES[p] for p in sorted(rule.parties))
        needs = [*rule.required_inputs]
        if rule.reason_required:
            needs.append(f"reason ({rule.reason_system.rsplit('/', 1)[1]})" if rule.reason_system else "reason")
        rows.append(f"| `${event}` {rule.title_es} / {rule.title_en} | {sources} | {targets} | {who} | "
                    f"{', '.join(needs) or '—'} |")
    return rows


def document() -> str:
    return "\n".join([
        "# Ciclo de vida de la referencia / Referral lifecycle",
        "",
        "<!-- Generado por `ece referral diagram` a partir de referral/machine.py; no editar a mano. / Generated "
        "from referral/machine.py by `ece referral diagram`; do not edit by hand. -->",
        "",
        "Los estados son códigos de `Task.status` (R4 task.html#statemachine); el estado de negocio nacional va en "
        "`Task.businessStatus` (https://fhir.salud.gob.hn/CodeSystem/estado-referencia). Cada evento es la "
        "operación `POST /fhir/Task/{id}/$evento` (cuerpo `Parameters`) y queda registrado como una Provenance. "
        "Un evento no permitido desde el estado actual responde 409 con los eventos permitidos; una parte que no "
        "puede dispararlo, 403; un motivo o parámetro requerido ausente, 400.",
        "",
        "*States are `Task.status` codes; the national business status rides in `Task.businessStatus`. Each event "
        "is the operation `POST /fhir/Task/{id}/$event` and is recorded as a Provenance. Illegal: 409 naming the "
        "allowed events; party not allowed: 403; missing reason or input: 400.*",
        "",
        "```mermaid",
        mermaid(),
        "```",
        "",
        "## Eventos / Events",
        "",
        *_table(),
        "",
        "Partes / parties: **origen** = `Task.requester` (establecimiento que refiere), **destino** = `Task.owner`, "
        "**coordinación regional** = coordinador de una región de `meta.tag` (region-sanitaria), **motor** = el "
        "propio motor (plazos, ofertas retiradas) o un cliente de sistema de confianza.",
        "",
    ])
