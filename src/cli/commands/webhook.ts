import type { Command } from 'commander';
import { GateNotMetError, InvalidInputError } from '../../core/errors.js';
import type { DeliveryReport } from '../../core/webhooks/deliver.js';
import type { Subscription, SubscriptionListing } from '../../core/webhooks/subscriptions.js';
import { action, examples } from '../command.js';
import { failWithReport, notice, result } from '../output.js';
import type { Ui } from '../terminal/style.js';

interface AddOpts {
  events: string;
  artifact?: string;
  secretEnv: string;
}

export function register(program: Command): void {
  const webhook = program
    .command('webhook')
    .description('signed HTTP notifications of promote, rollback and other registry events (docs/webhooks.md)')
    .addHelpText(
      'after',
      examples(
        'mlreg webhook add https://deploy.example.com/hooks/mlreg --events promote,rollback --secret-env MLREG_WEBHOOK_SECRET',
        'mlreg webhook add https://chat.example.com/hook --events alert,rollback --artifact fraud --secret-env MLREG_WEBHOOK_CHAT',
        'mlreg webhook list',
        'mlreg webhook test 1',
        'mlreg webhook remove 1',
      ),
    );

  webhook
    .command('add')
    .argument('<url>', 'where to POST the events (http:// or https://)')
    .description('subscribe a URL to registry events; each delivery is signed with the secret in --secret-env')
    .requiredOption(
      '--events <list>',
      'comma-separated: promote, rollback, add, deprecate, delete, alert (monitoring), deploy (a follower switched)',
    )
    .option('--artifact <name>', 'only this artifact’s events (default: every artifact)')
    .requiredOption(
      '--secret-env <var>',
      'the NAME of the environment variable holding the shared secret on the machines that make changes, starting with MLREG_WEBHOOK_ (the secret is never stored)',
    )
    .addHelpText(
      'after',
      examples(
        'mlreg webhook add https://deploy.example.com/hooks/mlreg --events promote,rollback --secret-env MLREG_WEBHOOK_SECRET',
        'mlreg webhook add http://127.0.0.1:9000/reload --events promote,rollback,deploy --artifact fraud --secret-env MLREG_WEBHOOK_FRAUD --json',
      ),
    )
    .action(
      action<AddOpts>(async (ctx, [url], opts) => {
        const { addWebhook } = await import('../../core/webhooks/subscriptions.js');
        const data = addWebhook(
          ctx.registry(),
          { url: url!, events: opts.events.split(','), artifact: opts.artifact ?? null, secretEnv: opts.secretEnv },
          ctx.actor(),
        );
        if (!data.artifactExists)
          notice(
            ctx.io,
            `note: there is no artifact named ${opts.artifact} yet; its events will be sent once it exists`,
          );
        if (!ctx.env[opts.secretEnv])
          notice(
            ctx.io,
            `note: ${opts.secretEnv} is not set here; deliveries from this machine fail until it holds the secret (every machine that makes changes needs it)`,
          );
        return result(
          data.webhook,
          (w, ui) =>
            `${ui.c.green('Added')} webhook ${w.id}: ${w.events.join(', ')} of ${w.artifact ?? 'every artifact'} → ${w.url} (secret from $${w.secretEnv})\n  try it: mlreg webhook test ${w.id}`,
        );
      }),
    );

  webhook
    .command('list')
    .alias('ls')
    .description('the subscriptions, with the last delivery made from this folder')
    .action(
      action(async (ctx) => {
        const { listWebhooks } = await import('../../core/webhooks/subscriptions.js');
        return result(listWebhooks(ctx.readRegistry(), ctx.env), renderList);
      }),
    );

  webhook
    .command('remove')
    .alias('rm')
    .argument('<id>', 'the subscription’s id (see `mlreg webhook list`)')
    .description('remove a subscription')
    .action(
      action(async (ctx, [id]) => {
        const { removeWebhook } = await import('../../core/webhooks/subscriptions.js');
        const data = removeWebhook(ctx.registry(), webhookId(id!), ctx.actor());
        return result(data, (w: Subscription) => `Removed webhook ${w.id} (${w.url})`);
      }),
    );

  webhook
    .command('test')
    .argument('<id>', 'the subscription’s id (see `mlreg webhook list`)')
    .description(
      'send a signed test event (event "test") to a subscription and report the answer; exit 1 when it fails',
    )
    .action(
      action(async (ctx, [id]) => {
        const { getWebhook } = await import('../../core/webhooks/subscriptions.js');
        const { deliverTest } = await import('../../core/webhooks/deliver.js');
        const { deliveryOptions } = await import('../webhooks.js');
        const reg = ctx.registry();
        const sub = getWebhook(reg, webhookId(id!));
        const report = await deliverTest(reg, sub, ctx.actor(), await deliveryOptions(ctx, reg));
        if (report.status === 'failed')
          return failWithReport(
            ctx.json,
            report,
            renderTest,
            new GateNotMetError(`webhook ${sub.id} (${sub.url}) did not take the test event: ${report.error}`, {
              code: 'E_WEBHOOK_TEST_FAILED',
              hint: 'Check that the receiver runs and answers 2xx, that the URL is right, and that the secret variable is set here and on the receiver.',
              details: report,
            }),
          );
        return result(report, renderTest);
      }),
    );
}

function webhookId(text: string): number {
  const id = Number(text);
  if (!/^[1-9]\d{0,15}$/.test(text) || !Number.isSafeInteger(id))
    throw new InvalidInputError(`${JSON.stringify(text)} is not a webhook id`, {
      code: 'E_BAD_WEBHOOK_ID',
      hint: 'Give the number `mlreg webhook list` shows in its ID column.',
    });
  return id;
}

function renderTest(r: DeliveryReport, ui: Ui): string {
  const answer = r.httpStatus === null ? 'no answer' : `HTTP ${r.httpStatus}`;
  if (r.status === 'delivered')
    return `${ui.c.green('Delivered')} the test event to webhook ${r.webhook} (${r.url}): ${answer} in ${r.durationMs} ms`;
  return `${ui.c.red('Failed')} to deliver the test event to webhook ${r.webhook} (${r.url}): ${r.error}`;
}

function renderList(rows: SubscriptionListing[], ui: Ui): string {
  if (rows.length === 0)
    return 'No webhooks. Add one with `mlreg webhook add URL --events promote,rollback --secret-env MLREG_WEBHOOK_SECRET`.';
  return ui.table(
    ['ID', 'URL', 'EVENTS', 'ARTIFACT', 'SECRET', 'LAST DELIVERY'],
    rows.map((w) => [
      w.id,
      w.url,
      w.events.join(','),
      w.artifact ?? '(all)',
      `$${w.secretEnv}${w.secretSet ? '' : ui.c.yellow(' (not set here)')}`,
      lastDelivery(w, ui),
    ]),
  );
}

function lastDelivery(w: SubscriptionListing, ui: Ui): string {
  const d = w.lastDelivery;
  if (!d) return '-';
  const when = d.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  if (d.status === 'delivered')
    return `${ui.c.green('ok')} ${d.event} ${when}${d.httpStatus ? ` (HTTP ${d.httpStatus})` : ''}`;
  return `${ui.c.red('failed')} ${d.event} ${when}: ${d.error ?? ''}`;
}
