"""search_date in key order: ``(resource_type, param, low, resource_id)`` and ``(..., high, resource_id)``, so
a search sorted on a date (``Observation?code=..&_sort=-date``, ``Task?status=..&_sort=authored-on``) can walk
the dates from the first one and stop at the page's end, instead of sorting every match
(ece.search.query._walk_page_sql). Ascending sorts take each resource's smallest ``low``, descending its
largest ``high`` (R4 search.html#sort); ``resource_id`` orders ties and is read from the index.

Building them blocks writes to search_date (not reads) while it runs: about 10 s for both at 8,000 patients on
the bench machine; their size is in the README.

Revision ID: 0014_date_sort_walk
Revises: 0013_date_span_index_only
Create Date: 2026-11-30 05:00
"""

from alembic import op

revision = "0014_date_sort_walk"
down_revision = "0013_date_span_index_only"
branch_labels = None
depends_on = None

ENDS = ("low", "high")


def upgrade() -> None:
    for end in ENDS:
        op.execute(f"CREATE INDEX ix_search_date_resource_type_param_{end}_resource_id "
                   f"ON search_date (resource_type, param, {end}, resource_id)")


def downgrade() -> None:
    for end in ENDS:
        op.execute(f"DROP INDEX ix_search_date_resource_type_param_{end}_resource_id")
