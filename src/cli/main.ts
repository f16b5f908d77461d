import { Command, CommanderError } from 'commander';
import { ExitCode, UsageError } from '../core/errors.js';
import { packageVersion } from '../core/lib/fs.js';
import { COMMAND_LOADERS } from './commands/index.js';
import { emitError } from './output.js';

/** Options every command takes, before or after its name (`mlreg --json list` and `mlreg list --json`). */
function addGlobalOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print exactly one JSON document on stdout: {"ok":true,"data":…} or {"ok":false,"error":…}')
    .option(
      '--registry <dir>',
      'the registry folder (default: $MLREG_REGISTRY, else the nearest .mlreg/ above the current folder)',
    )
    .option('--actor <name>', 'who is acting, for the audit log (default: $MLREG_ACTOR, git user, OS user)');
}

/**
 * The command a command line runs: the first word that is not a program option (or its value).
 * Undefined for `mlreg`, `mlreg --help`, `mlreg help …` or an unknown word: then every command loads.
 */
export function commandNamed(argv: readonly string[]): (typeof COMMAND_LOADERS)[number] | undefined {
  const withValue = new Set(['--registry', '--actor']);
  for (let i = 2; i < argv.length; i++) {
    const word = argv[i]!;
    if (withValue.has(word)) i++;
    else if (!word.startsWith('-')) return COMMAND_LOADERS.find((c) => c.name === word || c.aliases?.includes(word));
  }
  return undefined;
}

/** The program with every command (`only` given: with just that one, which is all a run needs). */
export async function buildProgram(only?: (typeof COMMAND_LOADERS)[number]): Promise<Command> {
  const program = new Command('mlreg')
    .description(
      'A model registry in one folder: versions of models and datasets, stages, promotion gates, drift checks, backups and instant rollback.',
    )
    .version(packageVersion(), '-V, --version', 'print the mlreg version')
    // Program options only before the command name, so `add --version 1.2.0` is add's option, not ours.
    .enablePositionalOptions()
    .showHelpAfterError(false)
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 gate or check not met, 2 bad usage or input, 3 not found, 4 conflict,
5 integrity error, 70 internal bug.  Docs: README.md.`,
    );
  addGlobalOptions(program);
  for (const entry of only ? [only] : COMMAND_LOADERS) (await entry.load())(program);
  const prepare = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeErr: () => {} });
    for (const sub of cmd.commands) {
      if (sub.commands.length === 0) addGlobalOptions(sub);
      prepare(sub);
    }
  };
  prepare(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `mlreg list | head`: the reader went away; stop quietly like other Unix tools.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const json = argv.includes('--json');
  const program = await buildProgram(commandNamed(argv));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        process.exitCode = ExitCode.ok;
        return;
      }
      const message = err.message.replace(/^error: /, '');
      await emitError(
        new UsageError(message, { code: 'E_USAGE', hint: 'See `mlreg --help` or `mlreg COMMAND --help`.' }),
        json,
      );
      return;
    }
    await emitError(err, json);
  }
}
