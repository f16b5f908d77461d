import type { Command } from 'commander';
import type { ArtifactSummary, VersionList } from '../../core/versions/queries.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { formatBytes, formatNumber, formatTime } from '../terminal/style.js';

export function register(program: Command): void {
  program
    .command('list')
    .alias('ls')
    .argument('[name]', 'an artifact: list its versions')
    .description('list artifacts, or the versions of one with their stages and metrics')
    .addHelpText(
      'after',
      examples('mlreg list', 'mlreg list fraud', "mlreg list fraud --json | jq '.data.versions[0]'"),
    )
    .action(
      action(async (ctx, [name]) => {
        const { listArtifacts, listVersions } = await import('../../core/versions/queries.js');
        const reg = ctx.readRegistry();
        if (name === undefined) {
          return result({ artifacts: listArtifacts(reg) }, (d: { artifacts: ArtifactSummary[] }, ui) =>
            d.artifacts.length === 0
              ? 'The registry is empty. Add a version with `mlreg add model NAME PATH`.'
              : ui.table(
                  ['NAME', 'KIND', 'VERSIONS', 'LATEST', 'STAGES', 'UPDATED'],
                  d.artifacts.map((a) => [
                    a.name,
                    a.kind,
                    a.versions,
                    a.latest ?? '-',
                    Object.entries(a.stages)
                      .map(([s, v]) => `${s}=${v}`)
                      .join(' ') || '-',
                    formatTime(a.updatedAt),
                  ]),
                ),
          );
        }
        return result(listVersions(reg, name), (d: VersionList, ui) =>
          ui.table(
            ['VERSION', 'STAGES', 'CREATED', 'BY', 'SIZE', 'METRICS', 'DIGEST'],
            d.versions.map((v) => [
              (v.deprecated ? ui.c.dim(`${v.version} (deprecated)`) : v.version) +
                (v.unsafe ? ui.c.red(' UNSAFE') : ''),
              v.stages.map((s) => ui.c.cyan(s)).join(','),
              formatTime(v.createdAt),
              v.createdBy,
              formatBytes(v.size),
              Object.entries(v.metrics)
                .map(([k, x]) => `${k}=${formatNumber(x)}`)
                .join(' '),
              v.digest.slice(0, 12),
            ]),
          ),
        );
      }),
    );
}
