-- Auto-investigation: what Kanshi found out about the alert's resource and account.

-- AlterTable
ALTER TABLE "alert" ADD COLUMN     "enrichment" JSONB,
ADD COLUMN     "enriched_at" TIMESTAMPTZ(3);
