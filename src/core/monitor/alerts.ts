import { InvalidInputError } from '../errors.js';
import { runCommand } from '../lib/run-command.js';

/**
 * Deliver a fired alert to a webhook and/or a local command. Delivery never hides the alert: a
 * failure is reported next to it, and the check still fails (exit 1) on the rule, not on delivery.
 */

export interface Delivery {
  channel: 'webhook' | 'command';
  target: string;
  ok: boolean;
  attempts: number;
  /** HTTP status of the last attempt, or the command's exit code. */
  status?: number;
  error?: string;
}

export function parseWebhookUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidInputError(`the webhook ${JSON.stringify(text)} is not a URL`, {
      code: 'E_BAD_WEBHOOK',
      hint: 'Give an http(s) URL, e.g. https://hooks.example.com/mlreg.',
      details: { option: 'webhook' },
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidInputError(`the webhook must be an http or https URL, not ${url.protocol}`, {
      code: 'E_BAD_WEBHOOK',
      hint: 'Give an http(s) URL, e.g. https://hooks.example.com/mlreg.',
      details: { option: 'webhook' },
    });
  }
  return url;
}

export interface WebhookOptions {
  timeoutMs?: number;
  attempts?: number;
  /** Wait before the 2nd attempt; doubled before each further one. */
  backoffMs?: number;
}

/** POST the alert as JSON. Retries network errors, timeouts, 429 and 5xx; a 4xx is final. */
export async function postWebhook(url: URL, payload: unknown, opts: WebhookOptions = {}): Promise<Delivery> {
  const attempts = opts.attempts ?? 3;
  const body = JSON.stringify(payload);
  const target = url.origin + url.pathname; // no query string: it may carry a token
  let last: Delivery = { channel: 'webhook', target, ok: false, attempts: 0 };
  for (let i = 1; i <= attempts; i++) {
    if (i > 1) await new Promise((r) => setTimeout(r, (opts.backoffMs ?? 500) * 2 ** (i - 2)));
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'mlreg-monitor' },
        body,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { channel: 'webhook', target, ok: true, attempts: i, status: res.status };
      last = {
        channel: 'webhook',
        target,
        ok: false,
        attempts: i,
        status: res.status,
        error: `HTTP ${res.status} ${res.statusText}`.trim(),
      };
      if (res.status < 500 && res.status !== 429) return last;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why =
        e.name === 'TimeoutError'
          ? `timed out after ${opts.timeoutMs ?? 5000} ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message);
      last = { channel: 'webhook', target, ok: false, attempts: i, error: why };
    }
  }
  return last;
}

export interface AlertCommandOptions {
  timeoutMs?: number | undefined;
  /** Signals the command's process group on a timeout (Runtime.signalProcessGroup). */
  signalGroup?: ((pgid: number, signal: NodeJS.Signals) => void) | undefined;
  /** Time between TERM and KILL on a timeout. */
  graceMs?: number | undefined;
}

/** Run `sh -c CMD` with the alert JSON on stdin; ok when it exits 0 within the timeout. */
export async function runAlertCommand(
  cmd: string,
  payload: unknown,
  opts: AlertCommandOptions = {},
): Promise<Delivery> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let stderr = '';
  const outcome = await runCommand({
    argv: ['/bin/sh', '-c', cmd],
    cwd: '.',
    input: JSON.stringify(payload) + '\n',
    ignoreStdout: true,
    timeoutMs,
    graceMs: opts.graceMs ?? 1000,
    signalGroup: opts.signalGroup,
    onStderr: (d) => {
      if (stderr.length < 2000) stderr += d.toString();
    },
  });
  const failed = (why: string, status?: number): Delivery => ({
    channel: 'command',
    target: cmd,
    ok: false,
    attempts: 1,
    ...(status !== undefined ? { status } : {}),
    error: `${why}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
  });
  switch (outcome.kind) {
    case 'exited':
      return outcome.code === 0
        ? { channel: 'command', target: cmd, ok: true, attempts: 1, status: 0 }
        : failed(`exited with ${outcome.code}`, outcome.code);
    case 'signalled':
      return failed(`killed by ${outcome.signal}`);
    case 'timeout':
      return failed(`timed out after ${timeoutMs} ms`);
    case 'too-much-output':
      return failed('wrote too much output');
    case 'spawn-error':
      return { channel: 'command', target: cmd, ok: false, attempts: 1, error: outcome.message };
  }
}

export interface AlertChannels {
  webhook?: URL | undefined;
  webhookOptions?: WebhookOptions;
  command?: string | undefined;
  commandTimeoutMs?: number;
  /** Signals the alert command's process group on a timeout (Runtime.signalProcessGroup). */
  signalGroup?: ((pgid: number, signal: NodeJS.Signals) => void) | undefined;
}

/** Send one alert to every channel asked for; each result says whether it got through. */
export async function deliver(payload: unknown, channels: AlertChannels): Promise<Delivery[]> {
  const out: Delivery[] = [];
  if (channels.webhook) out.push(await postWebhook(channels.webhook, payload, channels.webhookOptions));
  if (channels.command)
    out.push(
      await runAlertCommand(channels.command, payload, {
        timeoutMs: channels.commandTimeoutMs,
        signalGroup: channels.signalGroup,
      }),
    );
  return out;
}
