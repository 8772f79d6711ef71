-- An event is identified by (finding id, updatedAt), whose unique index is the
-- dedup key; its own serial id was never read. The dedup key becomes the
-- primary key, and every ingest saves an index insert and a sequence step.
ALTER TABLE "finding_event" DROP CONSTRAINT "finding_event_pkey";
ALTER TABLE "finding_event" DROP COLUMN "id";
ALTER TABLE "finding_event" ADD CONSTRAINT "finding_event_pkey" PRIMARY KEY USING INDEX "finding_event_dedup_key";
