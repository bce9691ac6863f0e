-- Question: which default markup and low-balance threshold do the finance views apply?
-- Exactly one row: the latest finance_settings row written by a run, or the contract's defaults
-- (PIPELINE_DEFAULT_MARKUP_PCT 0, PIPELINE_LOW_BALANCE_DAYS 7) while no run has written one yet.
CREATE OR REPLACE VIEW finance_settings_in_force AS
SELECT
    CAST(coalesce(arg_max(default_markup_pct, written_at), 0) AS DECIMAL(9, 4)) AS default_markup_pct,
    CAST(coalesce(arg_max(low_balance_days, written_at), 7) AS INTEGER)         AS low_balance_days,
    max(written_at)                                                           AS written_at
FROM finance_settings;
