-- balance_snapshots: append-only, one row per client x observation of the balance endpoint.
-- balance and last_renewal matter only for clients who pay 360dialog directly (partner-paid show 0).
-- balance may run below zero; every other amount is never negative.
CREATE TABLE IF NOT EXISTS balance_snapshots (
    client_id                                VARCHAR                  NOT NULL,
    observed_at                              TIMESTAMP WITH TIME ZONE NOT NULL,
    balance                                  DECIMAL(38, 10),
    currency                                 VARCHAR,
    last_renewal_date                        TIMESTAMP WITH TIME ZONE,
    last_renewal_amount                      DECIMAL(38, 10) CHECK (last_renewal_amount >= 0),
    estimated_template_cost                  DECIMAL(38, 10) CHECK (estimated_template_cost >= 0),
    bi_price_for_currency_and_client_country DECIMAL(38, 10) CHECK (bi_price_for_currency_and_client_country >= 0),
    ui_price_for_currency_and_client_country DECIMAL(38, 10) CHECK (ui_price_for_currency_and_client_country >= 0),
    PRIMARY KEY (client_id, observed_at)
);
