import type { ReportDoc } from '../../web/wire.js';
import type { Context } from '../context.js';
import { spelledAsFlags } from '../flags.js';
import { notice } from '../output.js';

/**
 * `--format html`: the report as one self-contained page. With -o it is written to that file (and
 * stdout stays empty); without, it is what the command prints.
 */
export async function htmlReport(ctx: Context, doc: ReportDoc, title: string, output?: string): Promise<string> {
  const { reportHtml, writeReport } = await import('../../web/report.js');
  // The page may go to a file, past the run's stdout that spells core's option marks: spell them here.
  const html = spelledAsFlags(reportHtml(doc, title));
  if (output === undefined) return html;
  const path = writeReport(output, html, ctx.runtime.pid);
  notice(ctx.io, `mlreg: wrote ${path} (${Math.ceil(Buffer.byteLength(html) / 1024)} KB)`);
  return '';
}
