/**
 * The job a piece of code is running for, if any: the runner sets it around
 * each handler (AsyncLocalStorage), so a Slack post can carry the job's key
 * and a retried run can find the post an earlier, crashed run made.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RunningJob {
  key: string;
  /** Attempts including this one: more than 1 means an earlier run may have posted already. */
  attempts: number;
  /** A re-armed job is a new generation: its posts are new posts. */
  generation: number;
}

const storage = new AsyncLocalStorage<RunningJob>();

export function runInJob<T>(job: RunningJob, fn: () => Promise<T>): Promise<T> {
  return storage.run(job, fn);
}

export function currentJob(): RunningJob | undefined {
  return storage.getStore();
}
