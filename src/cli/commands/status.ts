import type { Command } from 'commander';
import type { ArtifactStatus } from '../../core/follow/reports.js';
import { action, examples } from '../command.js';
import { durationOption } from '../options.js';
import { result } from '../output.js';
import { formatTime, type Ui } from '../terminal/style.js';

interface StatusOpts {
  staleAfter?: number;
}

export function register(program: Command): void {
  program
    .command('status')
    .argument('<name>', 'the artifact')
    .description('the stages of an artifact and, per stage, every follower (mlreg follow) with what it serves')
    .addOption(
      durationOption(
        '--stale-after <duration>',
        'mark a follower stale after this long without a report (default: three of its heartbeats)',
        { code: 'E_BAD_DURATION' },
      ),
    )
    .addHelpText('after', examples('mlreg status fraud', 'mlreg status fraud --stale-after 10m --json'))
    .action(
      action<StatusOpts>(async (ctx, [name], opts) => {
        const { artifactStatus } = await import('../../core/follow/reports.js');
        const reg = ctx.readRegistry();
        const status = artifactStatus(reg, name!, { now: ctx.runtime.now(), staleAfterMs: opts.staleAfter });
        return result(status, renderStatus);
      }),
    );
}

function renderStatus(s: ArtifactStatus, ui: Ui): string {
  if (s.stages.length === 0)
    return `${s.name} has no stage set and no follower. Set one with \`mlreg promote ${s.name}@VERSION --to production\`.`;
  const out: string[] = [];
  for (const st of s.stages) {
    out.push(
      `${ui.c.bold(s.name)}@${ui.c.cyan(st.stage)}: ${st.version ?? ui.c.yellow('(not set)')}${st.since ? `  since ${formatTime(st.since)}` : ''}`,
    );
    if (st.followers.length === 0) {
      out.push('  no followers');
      continue;
    }
    out.push(
      ui
        .table(
          ['FOLLOWER', 'HOST', 'SERVES', 'SWITCHED', 'LAST REPORT', 'HOOK'],
          st.followers.map((f) => [
            f.follower,
            f.host,
            f.behind ? ui.c.yellow(`${f.version} (behind)`) : f.version,
            formatTime(f.switchedAt),
            f.stale ? ui.c.red(`${formatTime(f.reportedAt)} STALE`) : formatTime(f.reportedAt),
            f.hook ? (f.hook.result === 'ok' ? 'ok' : ui.c.red(f.hook.result)) : '-',
          ]),
        )
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  return out.join('\n');
}
