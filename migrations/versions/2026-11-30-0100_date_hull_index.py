"""Date searches by the hull of each row, from the index alone.

Migration 0007 indexed each search_date row's closed span [low, high] with GiST, NULL for a row whose low is after
its high (a Period written with its end before its start), and a partial index found those rows. A date condition
was then an OR of range tests and the column tests of such rows, which PostgreSQL answers with a bitmap scan: one
table visit per candidate row. ``birthdate=ge2011-05-18&birthdate=lt2012-05-18`` on 64,000 patients visited
1,184 table pages for 1,192 rows.

Now the index holds every row's hull, the closed range between low and high in whichever order they come, and
carries resource_id, low and high (INCLUDE). A condition is one overlap with the hull (what its exact test
implies, for either kind of row: ece.search.prefixes) and the exact test of the ends, so one index-only scan
answers it. The index is about twice the size of the one it replaces.

Revision ID: 0013_date_hull_index
Revises: 0012_index_only_search_lookups
Create Date: 2026-11-30 01:00
"""

from alembic import op

revision = "0013_date_hull_index"
down_revision = "0012_index_only_search_lookups"
branch_labels = None
depends_on = None

HULL = "tstzrange(least(low, high), greatest(low, high), '[]')"  # ece.search.prefixes.date_hull
SPAN = "CASE WHEN low <= high THEN tstzrange(low, high, '[]') END"  # migration 0007's


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_search_date_resource_type_param_hull ON search_date USING gist "
               f"(resource_type, param, ({HULL})) INCLUDE (resource_id, low, high)")
    op.drop_index("ix_search_date_resource_type_param_span", table_name="search_date")
    op.drop_index("ix_search_date_resource_type_param_inverted", table_name="search_date")
    op.execute("ANALYZE search_date")  # the planner's statistics of the new index expression


def downgrade() -> None:
    op.execute(f"CREATE INDEX ix_search_date_resource_type_param_span ON search_date USING gist "
               f"(resource_type, param, ({SPAN}))")
    op.create_index("ix_search_date_resource_type_param_inverted", "search_date", ["resource_type", "param"],
                    postgresql_where="low > high")
    op.drop_index("ix_search_date_resource_type_param_hull", table_name="search_date")
