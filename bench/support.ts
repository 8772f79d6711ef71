/**
 * The load generator for bench/ingest.ts, and the statistics both share.
 *
 * The generator runs in a worker thread (this file is its entry point) so
 * that building events, writing requests and parsing responses do not
 * compete with Kanshi for the main thread's event loop: what we measure is
 * the app's latency, not our own. It talks only to 127.0.0.1.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { type Json, wrapFinding } from '../test/support/fixtures';
import { RawHttpClient } from './http-load';

export const INGEST_PATH = '/ingest/eventbridge';
/** Past this a request counts as failed (status 0); EventBridge itself gives up after 5 s. */
export const REQUEST_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

export interface BenchEvent {
  findingId: string;
  body: string;
}

/**
 * Every call returns a distinct new finding: a clone of `base` with a fresh
 * 32-hex id and a random account among `accounts`, wrapped in an EventBridge
 * envelope (fresh id) the way the GuardDuty administrator account publishes
 * it. Distinct ids matter: a repeated id would take the cheaper duplicate path.
 *
 * The body is serialised once, with markers where the ids go, and each call
 * only splices its ids in, so that making events costs the generator little.
 */
export function eventFactory(base: Json, accounts: readonly string[]): () => BenchEvent {
  const region = typeof base.region === 'string' ? base.region : 'us-east-1';
  const [FINDING, ACCOUNT, ENVELOPE] = ['@@finding@@', '@@account@@', '@@envelope@@'];
  const finding: Json = {
    ...base,
    id: FINDING,
    accountId: ACCOUNT,
    arn: `arn:aws:guardduty:${region}:${ACCOUNT}:detector/${ACCOUNT}/finding/${FINDING}`,
  };
  // Odd indexes are markers, even ones the literal text between them.
  const parts = JSON.stringify(wrapFinding(finding, { id: ENVELOPE })).split(/(@@finding@@|@@account@@|@@envelope@@)/);
  return () => {
    const findingId = randomBytes(16).toString('hex');
    const accountId = accounts[Math.floor(Math.random() * accounts.length)] ?? '123456789012';
    const envelopeId = randomUUID();
    let body = '';
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      if (i % 2 === 0) body += part;
      else body += part === FINDING ? findingId : part === ACCOUNT ? accountId : envelopeId;
    }
    return { findingId, body };
  };
}

// ---------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------

export interface Sample {
  /** Milliseconds; for the open loop, from the scheduled send time. */
  latencyMs: number;
  /** HTTP status; 0 for a network error or timeout. */
  status: number;
}

/** The app's own thread during a phase: high values mean CPU or GC, not the database, made requests wait. */
export interface PhaseVitals {
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Garbage-collection pauses: the longest, their sum and how many (major: mark-compact). */
  gcMaxMs: number;
  gcTotalMs: number;
  gcCount: number;
  gcMajorCount: number;
}

export interface PhaseSummary {
  requests: number;
  ok: number;
  nonOk: number;
  /** Count per non-2xx status ("0" is a network error or timeout). */
  nonOkByStatus: Record<string, number>;
  elapsedS: number;
  /** 2xx answers per second over the phase (first send to last answer). */
  okPerS: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Open loop only: how late the generator itself sent, p99 and max (should be ~1 ms). */
  sendLagP99Ms?: number;
  sendLagMaxMs?: number;
  /** Kanshi's own process during the phase (bench/app-process.ts). */
  app?: PhaseVitals;
  firstError?: string;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function summarise(samples: readonly Sample[], elapsedMs: number): PhaseSummary {
  // Percentiles over every request, failed ones included: a timeout is a
  // very slow answer, and leaving it out would flatter the tail.
  const sorted = Float64Array.from(samples, (s) => s.latencyMs).sort();
  const nonOkByStatus: Record<string, number> = {};
  let ok = 0;
  for (const s of samples) {
    if (s.status >= 200 && s.status < 300) ok++;
    else nonOkByStatus[String(s.status)] = (nonOkByStatus[String(s.status)] ?? 0) + 1;
  }
  return {
    requests: samples.length,
    ok,
    nonOk: samples.length - ok,
    nonOkByStatus,
    elapsedS: elapsedMs / 1000,
    okPerS: elapsedMs > 0 ? ok / (elapsedMs / 1000) : 0,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] ?? Number.NaN) : Number.NaN,
  };
}

// ---------------------------------------------------------------------------
// The load generator (worker side)
// ---------------------------------------------------------------------------

export type LoadSpec =
  | { mode: 'open'; ratePerS: number; seconds: number }
  | { mode: 'closed'; concurrency: number; seconds: number };

export interface LoadJob {
  spec: LoadSpec;
  port: number;
  apiKey: string;
  baseFinding: Json;
  accounts: string[];
  maxSockets: number;
}

export interface LoadResult {
  summary: PhaseSummary;
  /** Finding ids whose request was answered 2xx. */
  acceptedIds: string[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class Client {
  readonly samples: Sample[] = [];
  readonly acceptedIds: string[] = [];
  firstError: string | undefined;
  private readonly http: RawHttpClient;
  private readonly next: () => BenchEvent;
  private readonly headPrefix: string;

  constructor(job: LoadJob) {
    // Keep-alive, as EventBridge API destinations reuse connections; a
    // request beyond maxSockets waits for a connection, and that wait is
    // part of its latency.
    this.http = new RawHttpClient(job.port, job.maxSockets);
    this.next = eventFactory(job.baseFinding, job.accounts);
    this.headPrefix =
      `POST ${INGEST_PATH} HTTP/1.1\r\nhost: 127.0.0.1:${job.port}\r\n` +
      `content-type: application/json; charset=utf-8\r\nx-api-key: ${job.apiKey}\r\n` +
      'user-agent: Amazon/EventBridge/ApiDestinations\r\n';
  }

  /** Sends one new finding; latency is measured from `since` (scheduled or actual send time). */
  async send(since: number): Promise<void> {
    const event = this.next();
    const head = `${this.headPrefix}content-length: ${Buffer.byteLength(event.body)}\r\n\r\n`;
    let status = 0;
    let detail = '';
    try {
      const res = await this.http.request(head, event.body, REQUEST_TIMEOUT_MS);
      status = res.status;
      detail = res.body;
    } catch (err) {
      detail = (err as Error).message;
    }
    this.samples.push({ latencyMs: performance.now() - since, status });
    if (status >= 200 && status < 300) this.acceptedIds.push(event.findingId);
    else if (this.firstError === undefined) this.firstError = `${status}: ${detail}`.slice(0, 300);
  }

  close(): void {
    this.http.destroy();
  }
}

/**
 * Open loop: request i is due at start + i/rate whatever happened to the
 * earlier ones, as with EventBridge delivering at its configured rate. Its
 * latency counts from that due time, so time spent queued behind a slow
 * server is measured (a closed loop would quietly send less instead).
 */
async function openLoop(client: Client, ratePerS: number, seconds: number): Promise<Partial<PhaseSummary>> {
  const intervalMs = 1000 / ratePerS;
  const total = Math.round(ratePerS * seconds);
  const inflight: Promise<void>[] = [];
  const lags = new Float64Array(total);
  const start = performance.now();
  let i = 0;
  while (i < total) {
    const now = performance.now();
    for (; i < total && start + i * intervalMs <= now; i++) {
      const due = start + i * intervalMs;
      lags[i] = now - due;
      inflight.push(client.send(due));
    }
    await sleep(1);
  }
  await Promise.all(inflight);
  lags.sort();
  return {
    elapsedS: (performance.now() - start) / 1000,
    sendLagP99Ms: percentile(lags, 99),
    sendLagMaxMs: lags[total - 1],
  };
}

/**
 * Closed loop: `concurrency` senders, each sending its next request when the
 * previous one is answered. This finds the most the app can absorb; latency
 * counts from the actual send.
 */
async function closedLoop(client: Client, concurrency: number, seconds: number): Promise<Partial<PhaseSummary>> {
  const start = performance.now();
  const end = start + seconds * 1000;
  const sender = async () => {
    while (performance.now() < end) await client.send(performance.now());
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  return { elapsedS: (performance.now() - start) / 1000 };
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const client = new Client(job);
  try {
    const extra =
      job.spec.mode === 'open'
        ? await openLoop(client, job.spec.ratePerS, job.spec.seconds)
        : await closedLoop(client, job.spec.concurrency, job.spec.seconds);
    const summary = { ...summarise(client.samples, (extra.elapsedS ?? 0) * 1000), ...extra };
    if (client.firstError !== undefined) summary.firstError = client.firstError;
    return { summary, acceptedIds: client.acceptedIds };
  } finally {
    client.close();
  }
}

// ---------------------------------------------------------------------------
// Main-thread side
// ---------------------------------------------------------------------------

/** Runs `job` in a worker thread; rejects (and terminates it) after `timeoutMs`. */
export function runLoadInWorker(job: LoadJob, timeoutMs: number): Promise<LoadResult> {
  return new Promise<LoadResult>((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: job });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      settle(() => reject(new Error(`load generator did not finish within ${timeoutMs} ms`)));
      void worker.terminate();
    }, timeoutMs);
    worker.once('message', (result: LoadResult) => settle(() => resolve(result)));
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`load generator exited with code ${code}`))));
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  runLoad(workerData as LoadJob).then(
    (result) => port.postMessage(result),
    (err: unknown) => {
      throw err;
    },
  );
}
