-- The job claim reads each lane's next pending job, and the oldest due jobs that
-- have no lane, through these two indexes. Before, it walked every due pending
-- job (job_status_run_at_idx) and sorted them by lane on every claim: at 10,000
-- jobs waiting in 500 paced lanes a claim took 30-32 ms, and the worker claims
-- up to 40 times a second. See CLAIM in app/adapters/db/job-queue.ts.
CREATE INDEX "job_lane_pending_idx" ON "job" ("lane", "run_at", "id") WHERE "status" = 'pending';
CREATE INDEX "job_unlaned_pending_idx" ON "job" ("run_at", "id") WHERE "status" = 'pending' AND "lane" IS NULL;
