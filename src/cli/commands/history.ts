import type { Command } from 'commander';
import type { HistoryEntry } from '../../core/registry/history.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { numberOption } from '../options.js';
import { formatTime } from '../terminal/style.js';

interface HistoryOpts {
  stage?: string;
  limit?: number;
  all?: boolean;
}

export function register(program: Command): void {
  program
    .command('history')
    .argument('<name>', 'the artifact')
    .description('who moved which stage where, when and why (rollbacks included), newest first')
    .option('--stage <stage>', 'only this stage')
    .addOption(
      numberOption('--limit <n>', 'at most N entries', {
        integer: true,
        min: 1,
        code: 'E_BAD_LIMIT',
        takes: 'a positive whole number',
        example: '20',
      }),
    )
    .option('--all', 'every event: adds and deprecations too (stage moves and deployments are always shown)')
    .addHelpText(
      'after',
      examples(
        'mlreg history fraud',
        'mlreg history fraud --stage production --limit 10',
        'mlreg history fraud --json',
      ),
    )
    .action(
      action<HistoryOpts>(async (ctx, [name], opts) => {
        const { history } = await import('../../core/registry/history.js');
        const data = history(ctx.readRegistry(), name!, { stage: opts.stage, limit: opts.limit, all: opts.all });
        return result(data, (d: { name: string; events: HistoryEntry[] }, ui) =>
          d.events.length === 0
            ? `No stage of ${d.name} has been set yet. Promote a version with \`mlreg promote ${d.name}@VERSION --to production\`.`
            : ui.table(
                ['#', 'WHAT', 'STAGE', 'FROM → TO', 'BY', 'WHEN', 'REASON'],
                d.events.map((e) => [
                  e.id,
                  e.kind === 'rollback' ? ui.c.yellow('rollback') : e.kind,
                  e.stage ?? '',
                  // Only moves have a from and a to; an alert on a stage names the version it was about.
                  e.kind === 'promote' || e.kind === 'rollback' || e.kind === 'deploy'
                    ? `${e.from ?? '(none)'} → ${e.to ?? '(deleted)'}`
                    : (e.to ?? ''),
                  e.actor,
                  formatTime(e.at),
                  // A deployment says where it happened: the follower that switched its folder.
                  e.kind === 'deploy'
                    ? `on ${(e.details as { follower?: string } | null)?.follower ?? '?'}`
                    : (e.reason ?? ''),
                ]),
              ),
        );
      }),
    );
}
