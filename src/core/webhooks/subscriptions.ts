import { InvalidInputError, NotFoundError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import { applyOperations } from '../remote/apply.js';
import { NAME_RE } from '../versions/refs.js';
import { checkWebhookUrl, ENV_NAME_RE, ENV_PREFIX, WEBHOOK_EVENTS, type WebhookEventName } from './rules.js';
import { optionRef } from '../lib/option-ref.js';

/** Webhook subscriptions: made, removed and listed. They are shared state (webhook.add / webhook.remove operations). */

export interface Subscription {
  id: number;
  url: string;
  events: WebhookEventName[];
  /** Only this artifact's events, or null for every artifact. */
  artifact: string | null;
  /** The environment variable that holds the secret on the machine that delivers. */
  secretEnv: string;
  createdAt: string;
  createdBy: string;
}

export interface LastDelivery {
  delivery: string;
  event: string;
  status: 'delivered' | 'failed';
  httpStatus: number | null;
  attempts: number;
  error: string | null;
  at: string;
}

export interface SubscriptionListing extends Subscription {
  /** Whether the secret's variable is set where this ran (never its value). */
  secretSet: boolean;
  /** The last delivery made from this folder, or null. */
  lastDelivery: LastDelivery | null;
}

export interface NewSubscription {
  url: string;
  events: readonly string[];
  artifact?: string | null | undefined;
  secretEnv: string;
}

interface Row {
  id: number;
  url: string;
  events: string;
  artifact: string | null;
  secret_env: string;
  created_at: string;
  created_by: string;
}

function fromRow(r: Row): Subscription {
  return {
    id: r.id,
    url: r.url,
    events: JSON.parse(r.events) as WebhookEventName[],
    artifact: r.artifact,
    secretEnv: r.secret_env,
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}

/** The subscription's fields checked and normalised (events in the known order, each once); throws exit 2. */
export function validateSubscription(s: NewSubscription): {
  url: string;
  events: WebhookEventName[];
  artifact: string | null;
  secretEnv: string;
} {
  const problem = checkWebhookUrl(s.url);
  if (problem !== null)
    throw new InvalidInputError(`the webhook URL ${JSON.stringify(s.url.slice(0, 200))} is refused: ${problem}`, {
      code: 'E_BAD_WEBHOOK_URL',
      hint: `Give an http:// or https:// URL such as https://deploy.example.com/hooks/mlreg; put the shared secret in an environment variable named by ${optionRef('secret-env')}, not in the URL.`,
    });
  const wanted = s.events.map((e) => e.trim().toLowerCase()).filter((e) => e !== '');
  const unknown = wanted.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (wanted.length === 0 || unknown.length)
    throw new InvalidInputError(
      wanted.length === 0 ? 'no webhook events given' : `unknown webhook event ${JSON.stringify(unknown[0])}`,
      {
        code: 'E_BAD_WEBHOOK_EVENT',
        hint: `Give a comma-separated list of: ${WEBHOOK_EVENTS.join(', ')} (e.g. ${optionRef('events')} promote,rollback).`,
      },
    );
  const events = WEBHOOK_EVENTS.filter((e) => wanted.includes(e));
  const artifact = s.artifact ?? null;
  if (artifact !== null && !NAME_RE.test(artifact))
    throw new InvalidInputError(`${JSON.stringify(artifact)} is not an artifact name`, {
      code: 'E_BAD_NAME',
      hint: 'Names are lower-case letters, digits, ".", "_" and "-", starting with a letter or digit.',
    });
  if (!ENV_NAME_RE.test(s.secretEnv))
    // Not repeated in the message: a common slip is `--secret-env "$MLREG_WEBHOOK_SECRET"`, which
    // passes the secret itself, and error messages end up in CI logs.
    throw new InvalidInputError(
      `the value given is not the name of an ${ENV_PREFIX}… variable (it is not repeated here: it may be the secret itself)`,
      {
        code: 'E_BAD_SECRET_ENV',
        details: { option: 'secretEnv' },
        hint: `Give the NAME of the variable that holds the secret, starting with ${ENV_PREFIX} (letters, digits and _), e.g. ${optionRef('secret-env')} MLREG_WEBHOOK_SECRET; never the secret itself. Only such variables may sign deliveries, so a subscription cannot make mlreg sign with another secret of the machine.`,
      },
    );
  return { url: s.url, events, artifact, secretEnv: s.secretEnv };
}

/** Subscribe a URL; refuses a second subscription of the same URL and artifact (exit 4). */
export function addWebhook(
  reg: Registry,
  s: NewSubscription,
  actor: string,
): { webhook: Subscription; artifactExists: boolean } {
  const v = validateSubscription(s);
  return reg.write(() => {
    const [applied] = applyOperations(reg, [{ op: 'webhook.add', at: reg.nowIso(), id: null, ...v }], actor);
    const webhook = getWebhook(reg, applied!.webhookId!);
    const artifactExists =
      v.artifact === null || reg.db.prepare('SELECT 1 FROM artifacts WHERE name = ?').get(v.artifact) !== undefined;
    return { webhook, artifactExists };
  });
}

export function removeWebhook(reg: Registry, id: number, actor: string): Subscription {
  return reg.write(() => {
    const w = getWebhook(reg, id);
    applyOperations(
      reg,
      [
        {
          op: 'webhook.remove',
          at: reg.nowIso(),
          id: w.id,
          url: w.url,
          events: w.events,
          artifact: w.artifact,
          secretEnv: w.secretEnv,
        },
      ],
      actor,
    );
    return w;
  });
}

export function getWebhook(reg: Registry, id: number): Subscription {
  const row = reg.db.prepare('SELECT * FROM webhooks WHERE id = ?').get(id) as Row | undefined;
  if (!row)
    throw new NotFoundError(`there is no webhook ${id}`, {
      code: 'E_WEBHOOK_NOT_FOUND',
      hint: 'See the subscriptions and their ids with `mlreg webhook list`.',
    });
  return fromRow(row);
}

export function allWebhooks(reg: Registry): Subscription[] {
  return (reg.db.prepare('SELECT * FROM webhooks ORDER BY id').all() as Row[]).map(fromRow);
}

/** Every subscription with its last delivery from this folder; `env` tells whether each secret is set here. */
export function listWebhooks(reg: Registry, env: Readonly<Record<string, string | undefined>>): SubscriptionListing[] {
  const last = reg.db.prepare(
    `SELECT delivery, event, status, http_status, attempts, last_error, at FROM webhook_deliveries
     WHERE webhook_id = ? ORDER BY id DESC LIMIT 1`,
  );
  return reg.read(() =>
    allWebhooks(reg).map((w) => {
      const d = last.get(w.id) as
        | {
            delivery: string;
            event: string;
            status: 'delivered' | 'failed';
            http_status: number | null;
            attempts: number;
            last_error: string | null;
            at: string;
          }
        | undefined;
      return {
        ...w,
        secretSet: !!env[w.secretEnv],
        lastDelivery: d
          ? {
              delivery: d.delivery,
              event: d.event,
              status: d.status,
              httpStatus: d.http_status,
              attempts: d.attempts,
              error: d.last_error,
              at: d.at,
            }
          : null,
      };
    }),
  );
}

/** The subscriptions an event goes to: those that asked for it, of its artifact or of all. */
export function subscribersOf(subs: readonly Subscription[], event: string, artifact: string | null): Subscription[] {
  return subs.filter(
    (s) => (s.events as readonly string[]).includes(event) && (s.artifact === null || s.artifact === artifact),
  );
}
