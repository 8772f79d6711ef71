-- The same IAM finding raised in several regions folds into one alert: the
-- alert lists the regions, and each extra region's finding is kept here so its
-- updates find the alert and GuardDuty archiving covers it too.
ALTER TABLE "alert" ADD COLUMN "regions" TEXT[] NOT NULL DEFAULT '{}';

CREATE INDEX "alert_fold_idx" ON "alert"("account_id", "finding_type", "resource_id");

CREATE TABLE "alert_finding" (
    "finding_id" TEXT NOT NULL,
    "alert_id" UUID NOT NULL,
    "region" TEXT NOT NULL,
    "finding_updated_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "gd_archived" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "alert_finding_pkey" PRIMARY KEY ("finding_id")
);
CREATE INDEX "alert_finding_alert_idx" ON "alert_finding"("alert_id");
CREATE INDEX "alert_finding_region_idx" ON "alert_finding"("region");
