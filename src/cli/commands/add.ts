import { open } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidInputError, UsageError } from '../../core/errors.js';
import type { AddResult } from '../../core/versions/add.js';
import { notice, result } from '../output.js';
import { action, collect, examples } from '../command.js';
import { csvDialectOf, csvDialectOptions, metricPairsOption, textPairsOption } from '../options.js';
import { progressFor } from '../terminal/progress.js';
import { formatBytes } from '../terminal/style.js';

interface AddOpts {
  as?: string;
  version?: string;
  bump?: string;
  preid?: string;
  metric?: Record<string, number>;
  param?: Record<string, string>;
  tag?: Record<string, string>;
  description?: string;
  trainedOn?: string[];
  metricsFile?: string;
  followSymlinks?: boolean;
  includeHidden?: boolean;
  profile?: boolean;
  delimiter?: string;
  decimal?: string;
  allowImport?: string[];
  unsafe?: boolean;
  signature?: string;
}

export function register(program: Command): void {
  program
    .command('add')
    .argument('<kind>', 'model or dataset')
    .argument('<name>', 'artifact name: a-z, 0-9, ".", "_", "-"')
    .argument('<path>', 'a file or a folder of files')
    .description('register a new version of a model or dataset (a file or a folder)')
    .option('--version <semver>', 'the version number (default: a minor bump of the highest, 1.0.0 first)')
    .option('--bump <part>', 'patch, minor, major or prerelease')
    .option('--preid <id>', 'prerelease identifier with --bump prerelease (e.g. rc)')
    .addOption(metricPairsOption('--metric <k=v>', 'a metric value (repeatable)'))
    .option('--metrics-file <file>', 'metrics from a JSON file of name → number')
    .addOption(textPairsOption('--param <k=v>', 'a training parameter (repeatable)', 'param'))
    .addOption(textPairsOption('--tag <k=v>', 'a free-form tag (repeatable)', 'tag'))
    .option('--description <text>', 'what this version is')
    .option('--trained-on <ref>', 'dataset version the model was trained on (repeatable)', collect)
    .option('--as <name>', 'store a single file under this name (e.g. model.joblib), the same in every version')
    .option('--follow-symlinks', 'store the files that symbolic links point to (default: refuse links)')
    .option('--include-hidden', 'keep .git/, .DS_Store, __pycache__/ and other clutter (skipped by default)')
    .option('--no-profile', 'datasets: store without computing a profile')
    .addOption(csvDialectOptions()[0]!)
    .addOption(csvDialectOptions()[1]!)
    .option('--allow-import <module.Name>', 'models: let the scan allow this import too (repeatable)', collect)
    .option('--unsafe', 'models: register even if the scan finds unsafe imports (the version is flagged unsafe)')
    .option('--signature <file.json>', 'models: the input signature, {"features": [{"name", "kind"}]}')
    .addHelpText(
      'after',
      examples(
        'mlreg add model fraud model.joblib --metric auc=0.91 --param max_depth=6',
        'mlreg add model fraud ./model-dir --bump major --description "new features"',
        'mlreg add model fraud out/fraud-2026-11-30.joblib --as model.joblib',
        'mlreg add model fraud model.onnx --metrics-file metrics.json --trained-on transactions@1.3.0',
        'mlreg add dataset transactions data/train.csv',
      ),
    )
    .action(
      action<AddOpts>(async (ctx, [kind, name, path], opts) => {
        if (kind !== 'model' && kind !== 'dataset') {
          throw new UsageError(`add takes "model" or "dataset", not ${JSON.stringify(kind)}`, {
            code: 'E_BAD_KIND',
            hint: 'mlreg add model NAME PATH, or mlreg add dataset NAME PATH.',
          });
        }
        const { flattenMetricsJson } = await import('../../core/lib/pairs.js');
        const metrics = {
          ...(opts.metricsFile ? await readMetricsFile(opts.metricsFile, flattenMetricsJson) : {}),
          ...opts.metric,
        };
        const params = opts.param ?? {};
        const tags = opts.tag ?? {};
        const { addVersion } = await import('../../core/versions/add.js');
        const datasetHooks =
          kind === 'dataset'
            ? (await import('../../core/datasets/profiles.js')).datasetAddHooks(
                ctx.registry(),
                opts.profile !== false,
                await csvDialectOf(opts),
              )
            : {};
        if (kind !== 'model' && (opts.allowImport?.length || opts.unsafe || opts.signature))
          throw new UsageError('--allow-import, --unsafe and --signature are for models', {
            code: 'E_MODEL_OPTION',
            hint: 'Leave them out when adding a dataset.',
          });
        const modelHooks =
          kind === 'model'
            ? await (await import('../../core/models/add-hooks.js')).modelAddHooks(ctx.registry(), {
                allowImports: opts.allowImport ?? [],
                unsafe: !!opts.unsafe,
                signatureFile: opts.signature,
                actor: ctx.actor(),
              })
            : {};
        const bar = await progressFor(ctx, `adding ${name}`);
        let added: AddResult;
        try {
          added = await addVersion(ctx.registry(), {
            kind,
            name: name!,
            path: path!,
            version: opts.version,
            bump: opts.bump as never,
            preid: opts.preid,
            metrics,
            params,
            tags,
            description: opts.description,
            trainedOn: opts.trainedOn ?? [],
            followSymlinks: !!opts.followSymlinks,
            includeHidden: !!opts.includeHidden,
            storeAs: opts.as,
            actor: ctx.actor(),
            onProgress: bar.update,
            ...datasetHooks,
            ...modelHooks,
          });
        } finally {
          bar.stop();
        }
        for (const line of addNotices(added)) notice(ctx.io, line);
        if (kind === 'model' && opts.unsafe) {
          const { isFlaggedUnsafe } = await import('../../core/models/record.js');
          if (isFlaggedUnsafe(ctx.registry(), added.version.id))
            notice(
              ctx.io,
              `warning: ${added.version.name}@${added.version.version} was registered with --unsafe: its pickles import code outside the allowlist (see \`mlreg scan ${added.version.name}@${added.version.version}\`)`,
            );
        }
        return result(added, (r, ui) => {
          const v = r.version;
          const stored = r.bytesWritten === 0 ? 'all content already stored' : `${formatBytes(r.bytesWritten)} new`;
          let out = `${ui.c.green('Added')} ${v.kind} ${ui.c.bold(`${v.name}@${v.version}`)}  ${v.fileCount} file${v.fileCount === 1 ? '' : 's'}, ${formatBytes(v.size)} (${stored})  sha256:${v.digest.slice(0, 12)}`;
          if (r.trainedOn.length)
            out += `\n  trained on ${r.trainedOn.map((t) => `${t.name}@${t.version}`).join(', ')}`;
          return out;
        });
      }),
    );
}

/** What a person should know about an add that succeeded but may not be what they meant (stderr). */
function addNotices(r: AddResult): string[] {
  const lines: string[] = [];
  const list = (paths: string[]) =>
    paths.length > 5 ? `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more` : paths.join(', ');
  if (r.skipped.length)
    lines.push(
      `notice: left out ${list(r.skipped)} (version-control, OS clutter or .mlregignore; --include-hidden keeps clutter)`,
    );
  if (r.emptyFiles.length)
    lines.push(`warning: ${list(r.emptyFiles)} ${r.emptyFiles.length === 1 ? 'is' : 'are'} empty (0 bytes)`);
  if (r.repaired.length)
    lines.push(`notice: the stored copy of ${list(r.repaired)} was damaged and has been replaced by these good bytes`);
  if (r.sameContentAs.length)
    lines.push(
      `notice: ${r.version.name}@${r.version.version} has exactly the content of ${r.sameContentAs.map((v) => `${r.version.name}@${v}`).join(', ')}`,
    );
  return lines;
}

/** Metrics files are small JSON documents; anything larger (or /dev/zero) is refused before it is read. */
const MAX_METRICS_FILE = 4 << 20;

async function readMetricsFile(
  file: string,
  flatten: (doc: unknown, source: string) => Record<string, number>,
): Promise<Record<string, number>> {
  let text: string;
  try {
    const handle = await open(file, 'r');
    try {
      const st = await handle.stat();
      if (!st.isFile())
        throw new InvalidInputError(`--metrics-file ${file} is not a regular file`, {
          code: 'E_BAD_METRICS_FILE',
          hint: 'Give a JSON file such as metrics.json.',
        });
      if (st.size > MAX_METRICS_FILE)
        throw new InvalidInputError(
          `--metrics-file ${file} is ${st.size} bytes, over the limit of ${MAX_METRICS_FILE} bytes for a metrics file`,
          {
            code: 'E_BAD_METRICS_FILE',
            hint: 'Record the metrics that matter; keep the rest in a file of the version.',
          },
        );
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    const { fromSystemError } = await import('../../core/errors.js');
    throw fromSystemError(err, '--metrics-file');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`--metrics-file ${file} is not valid JSON (${(err as Error).message})`, {
      code: 'E_BAD_METRICS_FILE',
      hint: 'Write an object such as {"auc": 0.91}.',
    });
  }
  return flatten(doc, file);
}
