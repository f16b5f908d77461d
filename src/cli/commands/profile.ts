import type { Command } from 'commander';
import type { StoredProfileResult } from '../../core/datasets/profiles.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { renderProfileSummary } from '../render/profile-summary.js';

export function register(program: Command): void {
  program
    .command('profile')
    .argument('<ref>', 'a dataset version stored without a profile (add dataset --no-profile)')
    .description('compute and store the profile of a stored dataset version, so it can be checked and compared')
    .addHelpText('after', examples('mlreg profile transactions@1.2.0', 'mlreg profile transactions --json'))
    .action(
      action(async (ctx, [ref]) => {
        const { profileStoredVersion } = await import('../../core/datasets/profiles.js');
        const data = await profileStoredVersion(ctx.registry(), ref!, ctx.actor());
        return result(data, (d: StoredProfileResult, ui) =>
          [
            d.computed
              ? `${ui.c.green('Profiled')} ${d.name}@${d.version}`
              : `${d.name}@${d.version} already has a profile; nothing changed`,
            ...renderProfileSummary(d.profile, ui),
          ].join('\n'),
        );
      }),
    );
}
