"""Date search by range operators: a GiST index over each search_date row's span, and planner statistics
on the columns every index-table lookup combines.

- R4 search.html#prefix compares ranges. ``ece.search.clauses`` writes each date prefix (but ``ne``) as range
  operators over the row's closed span [low, high], which this index answers in proportion to the matches
  (the btree on (resource_type, param, low, high) it replaces read every earlier ``low`` for ``lt`` and
  every later one for ``ge``, and a range like ``ge1980&lt1981`` as all the births before 1981). A row
  with low > high (a Period written with its end before its start) has no span; the small partial index
  finds those rows for the column comparisons that still apply to them.
- ``resource_type``, ``param`` (and a token's ``code`` and ``system``) are strongly correlated: without
  multivariate statistics the planner multiplies their selectivities, underestimates matches tenfold, and
  then sorts every match instead of walking an index in id order.

Revision ID: 0007_search_date_spans
Revises: 0006_access_and_audit
Create Date: 2026-11-29 16:00
"""

from alembic import op

revision = "0007_search_date_spans"
down_revision = "0006_access_and_audit"
branch_labels = None
depends_on = None

SPAN = "CASE WHEN low <= high THEN tstzrange(low, high, '[]') END"  # ece.search.prefixes.date_span
# (statistics name, table, columns): the columns a lookup of ece.search.clauses combines.
STATISTICS = (
    ("st_search_token_resource_type_param_code_system", "search_token", "resource_type, param, code, system"),
    ("st_search_string_resource_type_param", "search_string", "resource_type, param"),
    ("st_search_date_resource_type_param", "search_date", "resource_type, param"),
    ("st_search_reference_resource_type_param_target_type", "search_reference", "resource_type, param, target_type"),
    ("st_search_quantity_resource_type_param_code", "search_quantity", "resource_type, param, code"),
    ("st_search_uri_resource_type_param", "search_uri", "resource_type, param"),
    ("st_search_composite_resource_type_param_c1_code", "search_composite", "resource_type, param, c1_code"),
)


def upgrade() -> None:
    # btree_gist: the text columns in the same GiST index as the range (a trusted extension since PG 13).
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(f"CREATE INDEX ix_search_date_resource_type_param_span ON search_date USING gist "
               f"(resource_type, param, ({SPAN}))")
    op.create_index("ix_search_date_resource_type_param_inverted", "search_date", ["resource_type", "param"],
                    postgresql_where="low > high")
    op.drop_index("ix_search_date_resource_type_param_low_high", table_name="search_date")
    for name, table, columns in STATISTICS:
        op.execute(f"CREATE STATISTICS {name} (mcv, dependencies) ON {columns} FROM {table}")
    # The statistics (and the index expression's) are empty until the tables are analysed.
    op.execute(f"ANALYZE {', '.join(sorted({table for _n, table, _c in STATISTICS}))}")


def downgrade() -> None:
    for name, _table, _columns in STATISTICS:
        op.execute(f"DROP STATISTICS IF EXISTS {name}")
    op.create_index("ix_search_date_resource_type_param_low_high", "search_date",
                    ["resource_type", "param", "low", "high"])
    op.drop_index("ix_search_date_resource_type_param_inverted", table_name="search_date")
    op.drop_index("ix_search_date_resource_type_param_span", table_name="search_date")
