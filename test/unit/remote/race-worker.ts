import { createInterface } from 'node:readline';
import { openRemote } from '../../../src/core/remote/transport.js';

/**
 * One racer of the cross-process put-if-absent test: `node race-worker.js URL [ENDPOINT]` opens the
 * remote, prints "ready", then for each stdin line "KEY BODY" creates KEY holding BODY and prints
 * "KEY OUTCOME" (or "KEY error CODE"). Many rounds go through one process so the race, not Node's
 * start-up, is what is measured.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const [url, endpoint] = process.argv.slice(2);
// `node --test dist/test/` also runs every file in it: without a URL this is that run, not a racer.
if (url) await race(url, endpoint);

async function race(url: string, endpoint: string | undefined): Promise<void> {
  const store = await openRemote(url, endpoint ? { endpoint } : {});
  process.stdout.write('ready\n');
  const pending: Promise<void>[] = [];
  for await (const line of createInterface({ input: process.stdin })) {
    const [key, body] = line.split(' ');
    pending.push(
      store.putIfAbsent(key!, new TextEncoder().encode(body!)).then(
        (outcome) => void process.stdout.write(`${key} ${outcome}\n`),
        (err: { code?: string }) => void process.stdout.write(`${key} error ${err.code ?? String(err)}\n`),
      ),
    );
  }
  await Promise.all(pending);
  store.close();
}
