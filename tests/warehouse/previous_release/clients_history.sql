-- clients_history: one row per observed change of any client column except observed_at
-- (first sighting included), and one when a trusted listing no longer has the client
-- (removed = true, with its last known columns). Same columns, same order as clients, then removed.
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
    removed           BOOLEAN                  DEFAULT false,
    PRIMARY KEY (client_id, observed_at)
);
-- Warehouses created before `removed` existed get it here (CREATE TABLE IF NOT EXISTS leaves an
-- existing table as it is); their earlier rows read as not removed.
ALTER TABLE clients_history ADD COLUMN IF NOT EXISTS removed BOOLEAN DEFAULT false;
