import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { contextOf, examples } from '../command.js';
import type { Context } from '../context.js';
import { emitResult, notice, result } from '../output.js';

interface UiOpts {
  port: string;
  host: string;
  open?: boolean;
}

export function register(program: Command): void {
  program
    .command('ui')
    .description(
      'a local read-only web app over the registry (artifacts, versions, compare, drift, monitoring, history)',
    )
    .option('--port <port>', 'the port to listen on (0: any free port)', '8080')
    .option('--host <address>', 'the address to listen on; anything but loopback is reachable by others', '127.0.0.1')
    .option('--open', 'open the app in the default browser')
    .addHelpText(
      'after',
      examples(
        'mlreg ui',
        'mlreg ui --port 9000 --open',
        'ssh -L 8080:127.0.0.1:8080 serving-host   # then open http://localhost:8080/ here',
      ),
    )
    .action(async (...all: unknown[]) => {
      const cmd = all[all.length - 1] as Command;
      await serve(contextOf(cmd), cmd.opts() as UiOpts);
    });
}

/** Serve until SIGINT or SIGTERM; the ready line (or --json document) is printed once listening. */
async function serve(ctx: Context, opts: UiOpts): Promise<void> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port takes a port number from 0 to 65535, not ${JSON.stringify(opts.port)}`, {
      code: 'E_BAD_PORT',
      hint: 'e.g. --port 8080, or --port 0 for any free port.',
    });
  const host = opts.host.trim();
  if (!host) throw new UsageError('--host is empty', { code: 'E_BAD_HOST', hint: 'e.g. --host 127.0.0.1' });
  const { loadAssets } = await import('../../web/assets.js');
  const { startUiServer } = await import('../../web/server.js');
  const assets = loadAssets();
  const reg = ctx.registry();
  let ui: Awaited<ReturnType<typeof startUiServer>>;
  try {
    ui = await startUiServer({ reg, assets, host, port });
  } catch (err) {
    ctx.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
      throw new UsageError(`cannot listen on ${host}:${port} (${code})`, {
        code: 'E_CANNOT_LISTEN',
        hint:
          code === 'EADDRINUSE'
            ? 'Another program uses that port: pick another with --port (or --port 0).'
            : 'Pick a port above 1023 and an address of this machine.',
      });
    throw err;
  }
  const loopback = host === 'localhost' || host === '::1' || host.startsWith('127.');
  if (!loopback)
    notice(
      ctx.io,
      `mlreg ui: warning: listening on ${host}, not loopback: anyone who can reach this address can read the registry (there is no login). Prefer SSH port forwarding.`,
    );
  await emitResult(
    result({ url: ui.url, registry: reg.root }, (d) => `mlreg ui: serving ${d.registry} at ${d.url} (Ctrl-C to stop)`),
    ctx.io,
    ctx.json,
  );
  if (opts.open) openBrowser(ui.url, ctx);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await ui.close();
  ctx.close();
}

function openBrowser(url: string, ctx: Context): void {
  void import('node:child_process').then(({ spawn }) => {
    const [cmd, args] =
      process.platform === 'darwin'
        ? ['open', [url]]
        : process.platform === 'win32'
          ? ['cmd', ['/c', 'start', '', url]]
          : ['xdg-open', [url]];
    const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => notice(ctx.io, `mlreg ui: could not open a browser (${cmd}); open ${url} yourself.`));
    child.unref();
  });
}
