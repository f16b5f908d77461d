import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Long-lived racer processes (race-worker.ts) driven round by round over stdin/stdout. */
export class Racers {
  private readonly procs: ChildProcessWithoutNullStreams[] = [];
  private readonly waiting = new Map<string, (line: string) => void>();

  private constructor() {}

  static async start(n: number, url: string, endpoint: string | undefined): Promise<Racers> {
    const r = new Racers();
    const worker = fileURLToPath(new URL('./race-worker.js', import.meta.url));
    await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const p = spawn(process.execPath, [worker, url, ...(endpoint ? [endpoint] : [])], { stdio: 'pipe' });
        r.procs.push(p);
        let stderr = '';
        p.stderr.on('data', (d) => (stderr += d));
        return new Promise<void>((resolve, reject) => {
          p.once('exit', (code) => reject(new Error(`racer ${i} exited (${code}): ${stderr}`)));
          createInterface({ input: p.stdout }).on('line', (line) => {
            if (line === 'ready') return resolve();
            const [key] = line.split(' ');
            const k = `${i}:${key}`;
            r.waiting.get(k)?.(line);
            r.waiting.delete(k);
          });
        });
      }),
    );
    return r;
  }

  /** Every racer creates `key` at once with its own body ("p<i>"); resolves to the outcomes by racer. */
  async round(key: string): Promise<string[]> {
    const answers = this.procs.map(
      (_, i) =>
        new Promise<string>((resolve) =>
          this.waiting.set(`${i}:${key}`, (line) => resolve(line.split(' ').slice(1).join(' '))),
        ),
    );
    this.procs.forEach((p, i) => p.stdin.write(`${key} p${i}\n`));
    return Promise.all(answers);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            p.removeAllListeners('exit');
            p.once('exit', () => resolve());
            p.stdin.end();
          }),
      ),
    );
  }
}
