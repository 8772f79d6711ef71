-- A storm digest's counts and its last alert's time are read from its alerts,
-- so that ingest never updates the digest row: in a storm every ingest would
-- otherwise queue on that one row's lock.
ALTER TABLE "storm_digest" DROP COLUMN "alert_count";
ALTER TABLE "storm_digest" DROP COLUMN "revision";
ALTER TABLE "storm_digest" DROP COLUMN "last_alert_at";
ALTER TABLE "storm_digest" DROP COLUMN "card_revision";
