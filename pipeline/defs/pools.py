"""Dagster concurrency pools: the assets that write the warehouse file run one at a time (the
limit is set in dagster.yaml)."""

WAREHOUSE_POOL = "warehouse"
