-- clients_history: one row per observed change of any client column except observed_at
-- (first sighting included), and one when a trusted listing no longer has the client
-- (removed = true, with its last known columns). Same columns, same order as clients, then removed.
-- unique key: client_id, observed_at
CREATE TABLE IF NOT EXISTS clients_history (
    client_id         VARCHAR                  NOT NULL,
    name              VARCHAR,
    status            VARCHAR,
    organisation      VARCHAR,
    max_channels      BIGINT,
    created_at        TIMESTAMP WITH TIME ZONE,
    modified_at       TIMESTAMP WITH TIME ZONE,
    partner_payload   VARCHAR,
    business_vertical VARCHAR,
    timezone          VARCHAR,
    country           VARCHAR,
    language          VARCHAR,
    email             VARCHAR,
    observed_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    removed           BOOLEAN                  DEFAULT false
);
