import { createHmac, randomUUID } from 'node:crypto';
import type { Registry } from '../registry/registry.js';
import type { WebhookEvent } from './events.js';
import { allWebhooks, subscribersOf, type Subscription } from './subscriptions.js';

/**
 * Delivering webhook events: after the change is committed, never inside its transaction. Each
 * delivery is a POST of the event as JSON, signed like GitHub's webhooks (`X-Mlreg-Signature:
 * sha256=<hex HMAC-SHA256 of the exact body>`) with the secret read from the environment variable
 * the subscription names. Each attempt has a timeout; network errors, 5xx and 429 are retried with
 * backoff, other answers are not; the whole delivery has a deadline, so a command never hangs on a
 * receiver. A failure is recorded and returned, never thrown: the change stands.
 */

export interface DeliveryOptions {
  /** Where secrets are read from (the CLI passes its environment; core never reads `process`). */
  env: Readonly<Record<string, string | undefined>>;
  /** `mlreg/<version>`. */
  userAgent: string;
  /** Per attempt (default 5000 ms). */
  timeoutMs?: number;
  /** Attempts per delivery, the first included (default 3). */
  maxAttempts?: number;
  /** All attempts and waits of one delivery together (default: 3 timeouts + 2 s). */
  deadlineMs?: number;
  /** First wait before a retry, doubled after each (default: a tenth of the timeout, at most 500 ms). */
  backoffMs?: number;
  /** Put in the body as `registry` (a replica's remote URL), when given. */
  registry?: string | null;
}

export interface DeliveryReport {
  webhook: number;
  url: string;
  event: string;
  artifact: string | null;
  /** The X-Mlreg-Delivery id. */
  delivery: string;
  status: 'delivered' | 'failed';
  /** The HTTP status of the last answer, or null when none came. */
  httpStatus: number | null;
  attempts: number;
  error: string | null;
  durationMs: number;
  /** False when the delivery could not be written to this folder's record (read-only, full disk). */
  recorded: boolean;
}

export const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_ATTEMPTS = 3;

/** The signature header's value for `body` (GitHub's scheme). */
export function signBody(body: Uint8Array | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The exact bytes sent (and signed) for an event. */
export function eventBody(event: WebhookEvent, registry?: string | null): Buffer {
  // The documented order (docs/webhooks.md), whatever order the event was built in.
  const doc = {
    event: event.event,
    artifact: event.artifact,
    stage: event.stage,
    from: event.from,
    to: event.to,
    version: event.version,
    actor: event.actor,
    reason: event.reason,
    time: event.time,
    ...(event.host !== undefined ? { host: event.host } : {}),
    ...(registry ? { registry } : {}),
  };
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/**
 * Deliver each event to every subscription that asked for it (of its artifact or of all), and record
 * each delivery in this folder. Returns one report per delivery (none when nothing is subscribed).
 */
export async function deliverEvents(
  reg: Registry,
  events: readonly WebhookEvent[],
  opts: DeliveryOptions,
): Promise<DeliveryReport[]> {
  if (events.length === 0) return [];
  const subs = allWebhooks(reg);
  if (subs.length === 0) return [];
  // Each subscription gets its events in the order they happened (an alert before the rollback it
  // caused); subscriptions are served at once, so one slow receiver does not delay the others.
  const perSubscription = subs
    .map((s, order) => ({
      s,
      order,
      mine: events.flatMap((e, i) => (subscribersOf([s], e.event, e.artifact).length ? [{ e, i }] : [])),
    }))
    .filter((x) => x.mine.length > 0);
  const done = await Promise.all(
    perSubscription.map(async ({ s, order, mine }) => {
      const out: { i: number; order: number; report: DeliveryReport }[] = [];
      for (const { e, i } of mine) out.push({ i, order, report: record(reg, await deliverOne(s, e, opts)) });
      return out;
    }),
  );
  // Reported in the order of the events, then of the subscriptions.
  return done
    .flat()
    .sort((a, b) => a.i - b.i || a.order - b.order)
    .map((x) => x.report);
}

/** `deliverEvents` for one event (e.g. a follower's deploy). */
export function deliverEvent(reg: Registry, event: WebhookEvent, opts: DeliveryOptions): Promise<DeliveryReport[]> {
  return deliverEvents(reg, [event], opts);
}

/** A test event to one subscription, whatever events it asked for (`mlreg webhook test`); recorded like any delivery. */
export async function deliverTest(
  reg: Registry,
  sub: Subscription,
  actor: string,
  opts: DeliveryOptions,
): Promise<DeliveryReport> {
  const event: WebhookEvent = {
    event: 'test',
    artifact: sub.artifact,
    stage: null,
    from: null,
    to: null,
    version: null,
    actor,
    reason: 'mlreg webhook test',
    time: reg.nowIso(),
  };
  return record(reg, await deliverOne(sub, event, opts));
}

function record(reg: Registry, r: DeliveryReport): DeliveryReport {
  try {
    reg.writeLocal(() =>
      reg.db
        .prepare(
          `INSERT INTO webhook_deliveries (webhook_id, delivery, event, artifact, status, http_status, attempts, last_error, at, duration_ms)
           SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?)`,
        )
        .run(
          r.webhook,
          r.delivery,
          r.event,
          r.artifact,
          r.status,
          r.httpStatus,
          r.attempts,
          r.error,
          reg.nowIso(),
          r.durationMs,
          r.webhook,
        ),
    );
    return r;
  } catch {
    // The delivery happened (or failed) all the same; only its record is missing.
    return { ...r, recorded: false };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function deliverOne(sub: Subscription, event: WebhookEvent, opts: DeliveryOptions): Promise<DeliveryReport> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxAttempts = opts.maxAttempts ?? DEFAULT_ATTEMPTS;
  const deadline = started + (opts.deadlineMs ?? timeoutMs * maxAttempts + 2_000);
  const backoff = opts.backoffMs ?? Math.min(500, Math.ceil(timeoutMs / 10));
  const delivery = randomUUID();
  const report = (
    status: 'delivered' | 'failed',
    attempts: number,
    httpStatus: number | null,
    error: string | null,
  ): DeliveryReport => ({
    webhook: sub.id,
    url: sub.url,
    event: event.event,
    artifact: event.artifact,
    delivery,
    status,
    httpStatus,
    attempts,
    error,
    durationMs: Date.now() - started,
    recorded: true,
  });

  const secret = opts.env[sub.secretEnv];
  if (!secret)
    return report(
      'failed',
      0,
      null,
      `the environment variable ${sub.secretEnv} that holds this webhook's secret is not set here, so nothing was sent; set it and run \`mlreg webhook test ${sub.id}\``,
    );
  const body = eventBody(event, opts.registry);
  const headers = {
    'content-type': 'application/json',
    'user-agent': opts.userAgent,
    'x-mlreg-event': event.event,
    'x-mlreg-delivery': delivery,
    'x-mlreg-signature': signBody(body, secret),
  };

  let attempts = 0;
  let httpStatus: number | null = null;
  let error = 'no attempt was made';
  while (attempts < maxAttempts) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    attempts++;
    const limit = Math.min(timeoutMs, left);
    let wait = backoff * 2 ** (attempts - 1);
    try {
      const res = await fetch(sub.url, {
        method: 'POST',
        headers,
        body,
        // A signed delivery goes where it was addressed, not wherever an answer points.
        redirect: 'manual',
        signal: AbortSignal.timeout(limit),
      });
      httpStatus = res.status;
      // The receiver's answer is not read: only its status counts.
      await res.body?.cancel().catch(() => {});
      if (res.status >= 200 && res.status < 300) return report('delivered', attempts, httpStatus, null);
      error = answerError(res);
      if (!(res.status >= 500 || res.status === 429)) break;
      wait = Math.max(wait, retryAfterMs(res.headers.get('retry-after')));
    } catch (err) {
      httpStatus = null;
      error = networkError(err, limit);
    }
    if (attempts >= maxAttempts) break;
    const until = Math.min(wait, deadline - Date.now());
    if (until <= 0) break;
    await sleep(until);
  }
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  return report('failed', attempts, httpStatus, `${error} (after ${tries})`);
}

function answerError(res: Response): string {
  const text = `HTTP ${res.status}${res.statusText ? ` ${clean(res.statusText)}` : ''}`;
  if (res.status >= 300 && res.status < 400)
    return `${text}: a redirect, which webhook deliveries do not follow; subscribe the URL it points to`;
  return text;
}

/** A Retry-After of a few seconds (never more than the deadline allows: the caller caps it). */
function retryAfterMs(value: string | null): number {
  if (value === null) return 0;
  const seconds = Number(value.trim());
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 60) * 1000 : 0;
}

function networkError(err: unknown, limit: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${limit} ms`;
  const cause = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return `could not connect (${clean(cause)})`;
}

/** Text from the network shown to a person: no control characters, bounded. */
function clean(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 200);
}
