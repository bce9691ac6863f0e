-- finance_settings: the finance settings in force, as of the latest run (one row, replaced on
-- every run). Views are SQL stored in the warehouse, so they read the settings from here rather
-- than from the environment; finance_settings_in_force supplies the defaults until a run writes it.
CREATE TABLE IF NOT EXISTS finance_settings (
    default_markup_pct DECIMAL(9, 4)            NOT NULL, -- PIPELINE_DEFAULT_MARKUP_PCT
    low_balance_days   INTEGER                  NOT NULL, -- PIPELINE_LOW_BALANCE_DAYS
    written_at         TIMESTAMP WITH TIME ZONE NOT NULL
);
