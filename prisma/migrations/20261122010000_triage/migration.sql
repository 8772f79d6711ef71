-- Triage: alert lifecycle, the append-only audit trail, archive review,
-- escalation, GuardDuty archiving and paging.

-- AlterTable
ALTER TABLE "alert" ADD COLUMN     "state" TEXT NOT NULL DEFAULT 'open',
ADD COLUMN     "state_changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "state_by_id" TEXT,
ADD COLUMN     "state_by_name" TEXT,
ADD COLUMN     "state_reason_category" TEXT,
ADD COLUMN     "state_reason" TEXT,
ADD COLUMN     "acknowledged_at" TIMESTAMPTZ(3),
ADD COLUMN     "acknowledged_by_id" TEXT,
ADD COLUMN     "escalated_at" TIMESTAMPTZ(3),
ADD COLUMN     "escalated_by_id" TEXT,
ADD COLUMN     "disposed_at" TIMESTAMPTZ(3),
ADD COLUMN     "assignee_id" TEXT,
ADD COLUMN     "recurrences" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "gd_archive_wanted" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "gd_archived" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "gd_archived_at" TIMESTAMPTZ(3),
ADD COLUMN     "gd_sync_error" TEXT,
ADD COLUMN     "review_status" TEXT,
ADD COLUMN     "reviewed_by_id" TEXT,
ADD COLUMN     "review_comment" TEXT,
ADD COLUMN     "review_card_ts" TEXT,
ADD COLUMN     "escalation_card_ts" TEXT;

-- CreateTable
CREATE TABLE "audit_event" (
    "id" BIGSERIAL NOT NULL,
    "alert_id" UUID NOT NULL,
    "action" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "actor_id" TEXT NOT NULL,
    "actor_name" TEXT NOT NULL,
    "from_state" TEXT NOT NULL,
    "to_state" TEXT NOT NULL,
    "reason_category" TEXT,
    "reason" TEXT,
    "detail" JSONB NOT NULL DEFAULT '{}',
    "slack_team" TEXT,
    "slack_channel" TEXT,
    "slack_message_ts" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "page_call" (
    "id" BIGSERIAL NOT NULL,
    "alert_id" UUID NOT NULL,
    "action" TEXT NOT NULL,
    "ok" BOOLEAN NOT NULL,
    "http_status" INTEGER,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "page_call_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_event_alert_idx" ON "audit_event"("alert_id", "id");

-- CreateIndex
CREATE INDEX "page_call_alert_idx" ON "page_call"("alert_id", "id");

-- CreateIndex
CREATE INDEX "alert_gd_sync_idx" ON "alert"("region") WHERE "gd_archive_wanted" <> "gd_archived";

-- AddForeignKey
ALTER TABLE "audit_event" ADD CONSTRAINT "audit_event_alert_id_fkey" FOREIGN KEY ("alert_id") REFERENCES "alert"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The audit trail is append-only, enforced by the database itself: no
-- UPDATE, DELETE or TRUNCATE, whatever the application's code does. (A role
-- that owns the table could still drop the trigger: in production, run
-- migrations as the owner and Kanshi as a role that does not own it.)
CREATE FUNCTION "kanshi_audit_event_append_only"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER "audit_event_no_update_delete"
  BEFORE UPDATE OR DELETE ON "audit_event"
  FOR EACH ROW EXECUTE FUNCTION "kanshi_audit_event_append_only"();

CREATE TRIGGER "audit_event_no_truncate"
  BEFORE TRUNCATE ON "audit_event"
  FOR EACH STATEMENT EXECUTE FUNCTION "kanshi_audit_event_append_only"();
