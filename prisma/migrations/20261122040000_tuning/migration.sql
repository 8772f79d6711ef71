-- Tuning: rules, silences, storm digests, first-only threading, routing from
-- AWS Organizations and channel health.

-- What the rules made of an alert, and how it reached (or did not reach) Slack.
-- delivery: card | suppressed (a rule) | silenced (a silence) | digest (storm
-- control) | thread (a first_only rule: a reply under the first alert's card).
ALTER TABLE "alert" ADD COLUMN "original_severity_label" TEXT;
ALTER TABLE "alert" ADD COLUMN "rule_outcome" JSONB;
ALTER TABLE "alert" ADD COLUMN "route_reason" TEXT;
ALTER TABLE "alert" ADD COLUMN "resource_id" TEXT;
ALTER TABLE "alert" ADD COLUMN "delivery" TEXT NOT NULL DEFAULT 'card';
ALTER TABLE "alert" ADD COLUMN "silence_id" UUID;
ALTER TABLE "alert" ADD COLUMN "digest_id" BIGINT;
ALTER TABLE "alert" ADD COLUMN "parent_alert_id" UUID;
ALTER TABLE "alert" ADD COLUMN "reply_ts" TEXT;

-- Storm control counts a channel's recent cards; only carded alerts matter.
CREATE INDEX "alert_channel_card_recent_idx" ON "alert"("channel_id", "created_at") WHERE "delivery" = 'card';
CREATE INDEX "alert_digest_idx" ON "alert"("digest_id", "created_at") WHERE "digest_id" IS NOT NULL;
CREATE INDEX "alert_silence_idx" ON "alert"("silence_id") WHERE "silence_id" IS NOT NULL;

-- Stateful rule conditions (occurrences, first_only): one row per alert and
-- stateful rule that matched it, counted within the rule's window.
CREATE TABLE "rule_hit" (
    "id" BIGSERIAL NOT NULL,
    "rule" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "alert_id" UUID NOT NULL,
    "delivery" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rule_hit_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "rule_hit_key_idx" ON "rule_hit"("rule", "key", "at");

-- Silences: time-boxed mutes. type_like is the SQL LIKE form of type_pattern.
CREATE TABLE "silence" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "type_pattern" TEXT NOT NULL,
    "type_like" TEXT NOT NULL,
    "account_id" TEXT,
    "resource_id" TEXT,
    "reason" TEXT NOT NULL,
    "created_by_id" TEXT NOT NULL,
    "created_by_name" TEXT NOT NULL,
    "channel_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "lifted_at" TIMESTAMPTZ(3),
    "lifted_by_id" TEXT,
    "hits" INTEGER NOT NULL DEFAULT 0,
    "last_hit_at" TIMESTAMPTZ(3),
    "stale_notified_at" TIMESTAMPTZ(3),

    CONSTRAINT "silence_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "silence_expires_idx" ON "silence"("expires_at");

-- Every silence change (created, lifted, expired, refused), append-only.
CREATE TABLE "silence_change" (
    "id" BIGSERIAL NOT NULL,
    "silence_id" UUID NOT NULL,
    "action" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "actor_id" TEXT NOT NULL,
    "actor_name" TEXT NOT NULL,
    "detail" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "silence_change_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "silence_change_silence_idx" ON "silence_change"("silence_id", "id");

CREATE TRIGGER "silence_change_no_update_delete"
  BEFORE UPDATE OR DELETE ON "silence_change"
  FOR EACH ROW EXECUTE FUNCTION "kanshi_audit_event_append_only"();
CREATE TRIGGER "silence_change_no_truncate"
  BEFORE TRUNCATE ON "silence_change"
  FOR EACH STATEMENT EXECUTE FUNCTION "kanshi_audit_event_append_only"();

-- Storm control: one digest card per channel and finding type while a storm lasts.
CREATE TABLE "storm_digest" (
    "id" BIGSERIAL NOT NULL,
    "channel_id" TEXT NOT NULL,
    "finding_type" TEXT NOT NULL,
    "opened_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_alert_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closed_at" TIMESTAMPTZ(3),
    "alert_count" INTEGER NOT NULL DEFAULT 0,
    "revision" INTEGER NOT NULL DEFAULT 1,
    "card_ts" TEXT,
    "card_revision" INTEGER NOT NULL DEFAULT 0,
    "card_post_started_at" TIMESTAMPTZ(3),

    CONSTRAINT "storm_digest_pkey" PRIMARY KEY ("id")
);
-- At most one open digest per channel and type; concurrent ingests upsert it.
CREATE UNIQUE INDEX "storm_digest_open_key" ON "storm_digest"("channel_id", "finding_type") WHERE "closed_at" IS NULL;

-- The organization's accounts, from the periodic AWS Organizations sync.
CREATE TABLE "org_account" (
    "account_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "ou_path" TEXT NOT NULL,
    "ou_id" TEXT,
    "tags" JSONB NOT NULL DEFAULT '{}',
    "joined_at" TIMESTAMPTZ(3),
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "synced_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "org_account_pkey" PRIMARY KEY ("account_id")
);

-- Accounts the security channel was told about (new, or without a route), once each.
CREATE TABLE "account_notice" (
    "account_id" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "notice_ts" TEXT,
    "routed_at" TIMESTAMPTZ(3),
    "routed_by_id" TEXT,

    CONSTRAINT "account_notice_pkey" PRIMARY KEY ("account_id")
);

-- Channels Kanshi cannot post to: the security channel is told once per failure spell.
CREATE TABLE "channel_health" (
    "channel_id" TEXT NOT NULL,
    "error" TEXT NOT NULL,
    "failed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "notified_at" TIMESTAMPTZ(3),

    CONSTRAINT "channel_health_pkey" PRIMARY KEY ("channel_id")
);
