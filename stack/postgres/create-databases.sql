-- Databases of the local stack, for the postgres image of docker-compose.yml
-- (stack/up.sh creates the same ones: PG_DATABASES in stack/lib/services.sh).
CREATE DATABASE cdc_source;
CREATE DATABASE cdc_replica;
