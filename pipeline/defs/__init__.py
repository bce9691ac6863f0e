"""Dagster wiring: assets, checks, schedules, resources and partitions of the warehouse.

Only this package knows Dagster; it composes the partner_api, transform and warehouse stages.
"""
