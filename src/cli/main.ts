import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ExitCode, type ExitCodeValue, UsageError } from '../core/errors.js';
import { packageVersion } from '../core/lib/fs.js';
import { attachRun } from './command.js';
import { COMMAND_LOADERS } from './commands/index.js';
import type { CliIo } from './context.js';
import { emitError, spellingOptionsAsFlags } from './output.js';
import { colorWanted } from './terminal/style.js';

/** Options every command takes, before or after its name (`mlreg --json list` and `mlreg list --json`). */
function addGlobalOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print exactly one JSON document on stdout: {"ok":true,"data":…} or {"ok":false,"error":…}')
    .option(
      '--registry <dir>',
      'the registry folder (default: $MLREG_REGISTRY, else the nearest .mlreg/ above the current folder)',
    )
    .option('--actor <name>', 'who is acting, for the audit log (default: $MLREG_ACTOR, git user, OS user)')
    .option('--offline', 'on a replica of a remote registry: answer from the local copy without asking the remote');
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

/**
 * A single-value option given twice (`--to staging --to canary`) is refused instead of silently
 * keeping the last. Repeatable options say so in their description ("(repeatable)"); flags without
 * a value may repeat harmlessly. The program is built anew for every run, so `seen` is per run.
 */
function refuseRepeats(cmd: Command): void {
  const seen = new Set<string>();
  for (const option of cmd.options) {
    if (!(option.required || option.optional) || option.variadic || /\(repeatable\)/.test(option.description)) continue;
    const parse = option.parseArg;
    option.argParser((value: string, previous: unknown) => {
      const name = option.attributeName();
      if (seen.has(name))
        throw new InvalidArgumentError(`${option.long ?? option.flags} was given more than once; give it once`);
      seen.add(name);
      return parse ? parse(value, previous) : value;
    });
  }
}

/**
 * The program with every command (`only` given: with just that one, which is all a run needs).
 * Help and version text go to `io.stdout`; without `io` (to inspect the commands) nothing is printed.
 */
export async function buildProgram(only?: (typeof COMMAND_LOADERS)[number], io?: CliIo): Promise<Command> {
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
5 integrity error, 6 remote unavailable, 7 disk failed (no space, I/O error), 70 internal bug.  Docs: README.md.`,
    );
  addGlobalOptions(program);
  for (const entry of only ? [only] : COMMAND_LOADERS) (await entry.load())(program);
  const prepare = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({
      writeOut: (text) => io?.stdout.write(text),
      // Help shown because a group was run without its subcommand goes to stderr; commander's own
      // error lines do not (runCli prints every error once, in mlreg's format).
      writeErr: (text) => io?.stderr.write(text),
      outputError: () => {},
      // Commander's own default: the terminal's width, else 80.
      getOutHelpWidth: () => (io?.isTTY.stdout ? io.columns : undefined) ?? 80,
      getErrHelpWidth: () => 80,
      getOutHasColors: () => !!io && io.isTTY.stdout && colorWanted({ isTTY: true }, io.env),
      getErrHasColors: () => false,
    });
    for (const sub of cmd.commands) {
      if (sub.commands.length === 0) addGlobalOptions(sub);
      prepare(sub);
    }
    refuseRepeats(cmd);
  };
  prepare(program);
  return program;
}

/** No command word and no help or version flag: only program options such as --json or --registry DIR. */
function isBare(argv: readonly string[]): boolean {
  const withValue = new Set(['--registry', '--actor']);
  for (let i = 2; i < argv.length; i++) {
    const word = argv[i]!;
    if (withValue.has(word)) i++;
    else if (!word.startsWith('-') || ['-h', '--help', '-V', '--version'].includes(word)) return false;
  }
  return true;
}

/**
 * Run one command line (argv as process.argv: node, script, words…) against `io`, and return the exit
 * code instead of exiting: tests call this in-process; `main` wires the real process to it.
 */
export async function runCli(argv: string[], given: CliIo): Promise<ExitCodeValue> {
  // Core names options by mark; whatever this run prints spells them as flags.
  const io = spellingOptionsAsFlags(given);
  const json = argv.includes('--json');
  const state: { io: CliIo; argv: readonly string[]; exitCode?: ExitCodeValue; webhooks?: unknown[] } = { io, argv };
  try {
    const program = await buildProgram(commandNamed(argv), io);
    attachRun(program, state);
    if (isBare(argv)) {
      // `mlreg` alone: what it can do, on stdout, and success (as `git` with no command).
      if (json)
        io.stdout.write(JSON.stringify({ ok: true, data: { commands: COMMAND_LOADERS.map((c) => c.name) } }) + '\n');
      else io.stdout.write(program.helpInformation());
      return ExitCode.ok;
    }
    await program.parseAsync(argv);
    return state.exitCode ?? ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok;
      // A group such as `mlreg monitor` without its subcommand: its usage is on stderr; that is bad usage.
      if (err.code === 'commander.help') {
        if (err.exitCode === 0) return ExitCode.ok;
        if (!json) return ExitCode.usage;
        return emitError(
          new UsageError('a subcommand is missing', { code: 'E_USAGE', hint: 'Its usage is printed above on stderr.' }),
          io,
          json,
        );
      }
      const message = err.message.replace(/^error: /, '');
      return emitError(
        new UsageError(message, { code: 'E_USAGE', hint: 'See `mlreg --help` or `mlreg COMMAND --help`.' }),
        io,
        json,
      );
    }
    return emitError(err, io, json, state.webhooks);
  }
}

let stopping: AbortController | undefined;

/** SIGTERM or SIGINT end a command that runs until stopped (follow) cleanly, after its current step. */
function stopOnSignals(): AbortSignal {
  if (!stopping) {
    const controller = new AbortController();
    stopping = controller;
    const stop = (): void => controller.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }
  return stopping.signal;
}

/** The process adapter: the one place that reads the real process's streams, environment and folder. */
export async function main(argv: string[]): Promise<void> {
  // mlreg pins an AWS SDK release that supports the Node it runs on; the SDK's notice that later
  // releases will need a newer Node is not the user's to act on, so it is not printed on every s3:// command.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // `mlreg list | head`: the reader went away; stop quietly like other Unix tools.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await runCli(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    // Lazily: touching process.stdin opens fd 0, which no command needs unless it reads input.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
    isTTY: { stdout: !!process.stdout.isTTY, stderr: !!process.stderr.isTTY },
    columns: process.stdout.columns,
    stopSignal: stopOnSignals,
  });
}
