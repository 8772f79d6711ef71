-- Only IAM findings (about an access key) fold across regions, so only their
-- alerts need the fold lookup's index. Indexing every alert cost each ingest
-- an index insert (and its WAL) that nothing would ever read.
DROP INDEX "alert_fold_idx";
CREATE INDEX "alert_fold_idx" ON "alert"("account_id", "finding_type", "resource_id")
  WHERE ("finding" -> 'resource' ->> 'type') = 'AccessKey';
