"""The clinical record: a lossless, versioned FHIR R4 (4.0.1) store on PostgreSQL.

Public API for other bounded contexts (the referral engine): ``ece.store`` (the single write path),
``ece.reads`` (read, vread, history), ``ece.search`` and ``ece.tx`` (the unit of work).
"""

FHIR_VERSION = "4.0.1"
