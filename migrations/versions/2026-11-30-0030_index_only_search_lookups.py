"""Two search lookups answered from the index alone (index-only scans, where the visibility map allows:
autovacuum keeps it so).

- search_date's per-resource index carries ``param`` in its key and the span's ends (INCLUDE). A search that
  walks resources in id order (the page of ``Observation?code=..&date=ge..``) checks each one's date there,
  instead of fetching every row of the resource from the table: 3,400 heap visits for 83 matching rows on 2,000
  patients; the page went from 3.3 to 1.6 ms, for 10% more index. It serves every lookup the old one did (its
  columns lead it), so the old one goes.
- search_string's value index carries ``resource_id`` (INCLUDE). ``Patient?name=hern`` reads the index entries of
  every name starting so, then needs each one's resource: without it in the index, one table visit per entry,
  3,000 random pages at 64,000 patients, which a database larger than its buffers reads from disk or the
  OS cache. Measured on the 64,000-patient bench database (bench.search's mix, 8 clients): that page's mean
  time went from 23 to 6 ms and the mix's p50 from 13.2 to 9.8 ms. The cost is size: the old index stored each
  distinct value once (B-tree deduplication), this one an entry per row: 39 MB became 177 MB there.

Revision ID: 0012_index_only_search_lookups
Revises: 0011_full_text
Create Date: 2026-11-30 00:30
"""

from alembic import op

revision = "0012_index_only_search_lookups"
down_revision = "0011_full_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_search_date_resource_type_resource_id_param", "search_date",
                    ["resource_type", "resource_id", "param"], postgresql_include=["low", "high"])
    op.drop_index("ix_search_date_resource_type_resource_id", table_name="search_date")
    op.drop_index("ix_search_string_resource_type_param_value", table_name="search_string")
    op.create_index("ix_search_string_resource_type_param_value", "search_string", ["resource_type", "param", "value"],
                    postgresql_ops={"value": "text_pattern_ops"}, postgresql_include=["resource_id"])


def downgrade() -> None:
    op.drop_index("ix_search_string_resource_type_param_value", table_name="search_string")
    op.create_index("ix_search_string_resource_type_param_value", "search_string", ["resource_type", "param", "value"],
                    postgresql_ops={"value": "text_pattern_ops"})
    op.create_index("ix_search_date_resource_type_resource_id", "search_date", ["resource_type", "resource_id"])
    op.drop_index("ix_search_date_resource_type_resource_id_param", table_name="search_date")
