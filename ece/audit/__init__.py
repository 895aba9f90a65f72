"""The audit trail: an R4 AuditEvent for every access to patient data, append-only and hash-chained.

Public API: ``Access`` (who, from where, why), ``record`` (buffer an event in the caller's transaction; the
batch is written in one statement just before the commit, so a write and its audit stand or fall
together), ``record_now`` (its own transaction, for refusals and logins), ``verify`` (``ece audit verify``),
``access_log`` (``Patient/[id]/$access-log``), and ``read_event`` / ``search_events`` (``AuditEvent/[id]``,
``AuditEvent?...``, for the rows a ``View`` allows).
"""

from ece.audit.chain import ChainReport, verify
from ece.audit.events import Access, Event, patients_in
from ece.audit.log import access_log
from ece.audit.query import SEARCH_PARAMS, AuditPage, View, read_event, search_events
from ece.audit.trail import configure, record, record_now

__all__ = ["SEARCH_PARAMS", "Access", "AuditPage", "ChainReport", "Event", "View", "access_log", "configure",
           "patients_in", "read_event", "record", "record_now", "search_events", "verify"]
