-- GuardDuty archiving failures the security channel has been told about: one
-- row per region and error while the failure spell lasts. The row and the
-- notice's job are written with the failure, in one transaction; an archive
-- call in the region that works ends the region's spells.
CREATE TABLE "guardduty_health" (
    "region" TEXT NOT NULL,
    "error" TEXT NOT NULL,
    "failed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),

    CONSTRAINT "guardduty_health_pkey" PRIMARY KEY ("region", "error")
);
