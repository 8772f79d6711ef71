-- A storm digest's bulk archive is reviewed on one card in the security
-- channel, not one card per alert.
ALTER TABLE "storm_digest" ADD COLUMN "review_card_ts" TEXT;
