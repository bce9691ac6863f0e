-- client_markups: one row per client x valid_from of the PIPELINE_MARKUPS CSV, replaced whole on
-- every run (the file is the source of truth; a client removed from it falls back to the default).
-- valid_from is the first month a markup applies (first day of the month); NULL means "since
-- always". A month's markup is the row with the latest valid_from on or before that month.
-- No primary key: DuckDB keys cannot hold NULL, so the reader refuses duplicates instead.
CREATE TABLE IF NOT EXISTS client_markups (
    client_id   VARCHAR                  NOT NULL,
    valid_from  DATE,
    markup_pct  DECIMAL(9, 4)            NOT NULL, -- percent: 12.5 means cost x 1.125
    source_file VARCHAR                  NOT NULL,
    source_line INTEGER                  NOT NULL, -- where to fix it in the CSV
    loaded_at   TIMESTAMP WITH TIME ZONE NOT NULL
);
