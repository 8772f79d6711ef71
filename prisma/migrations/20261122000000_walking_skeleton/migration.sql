-- Walking skeleton: findings become alerts with cards, through a durable job queue.

-- CreateTable
CREATE TABLE "finding_event" (
    "id" BIGSERIAL NOT NULL,
    "envelope_id" TEXT NOT NULL,
    "finding_id" TEXT NOT NULL,
    "finding_updated_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "payload" JSONB NOT NULL,

    CONSTRAINT "finding_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alert" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "finding_id" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "finding_type" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "region" TEXT NOT NULL,
    "severity" DECIMAL(4,1) NOT NULL,
    "severity_label" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "finding_updated_at" TIMESTAMPTZ(3) NOT NULL,
    "first_seen" TIMESTAMPTZ(3),
    "last_seen" TIMESTAMPTZ(3),
    "count" INTEGER NOT NULL,
    "is_sample" BOOLEAN NOT NULL,
    "finding" JSONB NOT NULL,
    "channel_id" TEXT NOT NULL,
    "revision" INTEGER NOT NULL DEFAULT 1,
    "card_channel_id" TEXT,
    "card_ts" TEXT,
    "card_revision" INTEGER NOT NULL DEFAULT 0,
    "card_post_started_at" TIMESTAMPTZ(3),
    "card_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "quarantine" (
    "id" BIGSERIAL NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "request_id" TEXT NOT NULL,
    "http_status" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "detail" JSONB NOT NULL,
    "content_type" TEXT,
    "user_agent" TEXT,
    "body_size" INTEGER NOT NULL,
    "truncated" BOOLEAN NOT NULL,
    "body" BYTEA NOT NULL,

    CONSTRAINT "quarantine_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job" (
    "id" BIGSERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "lane" TEXT,
    "payload" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "generation" INTEGER NOT NULL DEFAULT 1,
    "run_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "locked_by" TEXT,
    "locked_until" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "lane" (
    "id" TEXT NOT NULL,
    "next_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "lane_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "finding_event_dedup_key" ON "finding_event"("finding_id", "finding_updated_at");

-- CreateIndex
CREATE UNIQUE INDEX "alert_finding_id_key" ON "alert"("finding_id");

-- CreateIndex
CREATE INDEX "alert_account_created_idx" ON "alert"("account_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "quarantine_received_idx" ON "quarantine"("received_at");

-- CreateIndex
CREATE UNIQUE INDEX "job_key_key" ON "job"("key");

-- CreateIndex
CREATE INDEX "job_status_run_at_idx" ON "job"("status", "run_at");
