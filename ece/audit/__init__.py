"""The audit trail: an R4 AuditEvent for every access to patient data, append-only and hash-chained.

Public API: ``Access`` (who, from where, why), ``record`` (buffer an event in the caller's transaction; the
batch is written in one statement just before the commit, so a write and its audit stand or fall
together), ``record_now`` (its own transaction, for refusals and logins), ``verify`` (``ece audit verify``)
and ``access_log`` (``Patient/[id]/$access-log``).
"""

from ece.audit.chain import ChainReport, verify
from ece.audit.events import Access, Event, patients_in
from ece.audit.log import access_log
from ece.audit.trail import configure, record, record_now

__all__ = ["Access", "ChainReport", "Event", "access_log", "configure", "patients_in", "record", "record_now",
           "verify"]
