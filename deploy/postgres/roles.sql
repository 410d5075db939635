-- The two database roles of privetl (docs/audit.md, "Database roles"). Run once, as a
-- superuser, before the first `privetl migrate`:
--
--   psql -h DBHOST -U postgres -v owner_password="$OWNER_PASSWORD" \
--        -v runtime_password="$RUNTIME_PASSWORD" -f deploy/postgres/roles.sql
--
-- privetl_owner owns the database and every table; only `privetl migrate` connects as it
-- (DATABASE_OWNER_URL). privetl_app is what the platform serves as (DATABASE_URL): not a
-- superuser, owns nothing; `privetl migrate` grants it its privileges (on the audit log
-- only INSERT and SELECT) and default privileges for the owner's later tables.
CREATE ROLE privetl_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE privetl_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'runtime_password';
CREATE DATABASE privetl OWNER privetl_owner;
\connect privetl
-- Only the owner creates objects (the default since PostgreSQL 15; explicit for older ones).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO privetl_owner;
