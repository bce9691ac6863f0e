-- rate_cards: the PIPELINE_PRICING CSV, one row per client x category x valid_from, replaced whole
-- whenever it is loaded (the file is the source of truth). category is a usage category (a price
-- per paid message of it), 'number_fee' (a fee per channel live in the month) or
-- 'minimum_monthly' (the least a client is billed for a month's usage). valid_from is the first
-- month a price applies (NULL: since always); a month's price is the row with the latest
-- valid_from on or before it. Clients without a usage row here are billed cost plus markup.
CREATE TABLE IF NOT EXISTS rate_cards (
    client_id   VARCHAR                  NOT NULL,
    category    VARCHAR                  NOT NULL,
    unit_price  DECIMAL(18, 6)           NOT NULL,
    currency    VARCHAR                  NOT NULL,
    valid_from  DATE,
    source_file VARCHAR                  NOT NULL,
    source_line INTEGER                  NOT NULL, -- where to fix it in the CSV
    loaded_at   TIMESTAMP WITH TIME ZONE NOT NULL
);
