-- Routing overrides set with /alert route (they take precedence over
-- config/accounts.yml), and their append-only history.

-- CreateTable
CREATE TABLE "account_route" (
    "account_id" TEXT NOT NULL,
    "channel_id" TEXT NOT NULL,
    "set_by_id" TEXT NOT NULL,
    "set_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "account_route_pkey" PRIMARY KEY ("account_id")
);

-- CreateTable
CREATE TABLE "route_change" (
    "id" BIGSERIAL NOT NULL,
    "account_id" TEXT NOT NULL,
    "from_channel_id" TEXT,
    "to_channel_id" TEXT NOT NULL,
    "actor_id" TEXT NOT NULL,
    "actor_name" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "slack_team" TEXT,
    "slack_channel" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "route_change_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "route_change_account_idx" ON "route_change"("account_id", "id");

-- Like audit_event, the routing history is append-only.
CREATE TRIGGER "route_change_no_update_delete"
  BEFORE UPDATE OR DELETE ON "route_change"
  FOR EACH ROW EXECUTE FUNCTION "kanshi_audit_event_append_only"();

CREATE TRIGGER "route_change_no_truncate"
  BEFORE TRUNCATE ON "route_change"
  FOR EACH STATEMENT EXECUTE FUNCTION "kanshi_audit_event_append_only"();
