import { readFile } from 'node:fs/promises';
import { fromSystemError, InvalidInputError, UsageError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import type { AddOptions } from '../versions/add.js';
import { Allowlist, isAllowEntry } from './allowlist.js';
import { OnnxFormatError, readOnnxSignature } from './onnx.js';
import { describeFinding, type ScanReport, VersionScan } from './scan.js';
import type { StreamScanner } from './scan-file.js';
import { type Feature, type GivenSignature, onnxFeatures, type Signature, sklearnSignature } from './signature.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * What `add model` does besides storing: scan every file in the same read that hashes it, refuse an
 * unsafe model (E_UNSAFE_MODEL, exit 2) before anything is registered unless `--unsafe` is given,
 * read the input signature, and record both with the version.
 */

export interface ModelAddOptions {
  /** `--allow-import` entries (module.Name or module.*). */
  allowImports: readonly string[];
  /** `--unsafe`: register even when the scan says unsafe (flagged, and logged in the event). */
  unsafe: boolean;
  /** `--signature FILE.json`. */
  signatureFile?: string | undefined;
  actor: string;
}

interface Checked {
  report: ScanReport;
  signature: Signature | null;
}

/** The user's extra allowlist entries: `scan.allow` (comma-separated) plus `--allow-import`. */
export function allowlistFor(reg: Pick<Registry, 'getConfig'> | undefined, extra: readonly string[]): Allowlist {
  const configured = (reg?.getConfig('scan.allow') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const e of extra) {
    if (!isAllowEntry(e))
      throw new UsageError(`an allowed import is module.Name (or module.*), not ${JSON.stringify(e)}`, {
        code: 'E_BAD_ALLOW_IMPORT',
        details: { option: 'allowImport' },
        hint: `For example: ${optionRef('allow-import')} mypackage.features.Encoder`,
      });
  }
  return new Allowlist([...configured, ...extra]);
}

export function unsafeModelError(report: ScanReport, where: string): InvalidInputError {
  const lines = report.findings.slice(0, 20).map((f) => `  ${describeFinding(f)}`);
  if (report.findings.length > 20) lines.push(`  … and ${report.findings.length - 20} more (see ${optionRef('json')})`);
  return new InvalidInputError(
    `${where} is not safe to load: loading it would run code outside the allowlist\n${lines.join('\n')}`,
    {
      code: 'E_UNSAFE_MODEL',
      hint: `Nothing was registered. If you trust an import flagged unknown, allow it by name (${optionRef('allow-import')} module.Name, or \`mlreg config set scan.allow module.Name,...\`); ${optionRef('unsafe')} registers the model anyway, flagged unsafe.`,
      details: report,
    },
  );
}

export async function modelAddHooks(
  reg: Registry,
  opts: ModelAddOptions,
): Promise<Pick<AddOptions, 'tapFor' | 'afterStore' | 'storedOf' | 'eventDetails'>> {
  const allow = allowlistFor(reg, opts.allowImports);
  const given = opts.signatureFile ? await readGivenSignature(opts.signatureFile) : undefined;
  const scan = new VersionScan(allow);
  return {
    tapFor: (f) => scan.scannerFor(f.path),
    afterStore: async (stored): Promise<Checked> => {
      for (const s of stored) await scan.complete(s.tap as StreamScanner, s.objectPath);
      const { report, roots } = scan.outcome();
      if (report.verdict === 'unsafe' && !opts.unsafe) throw unsafeModelError(report, 'the model');
      let signature: Signature | null = given ?? sklearnSignature(roots) ?? null;
      if (!signature) {
        const onnxFile = stored.find((s) => s.file.path.toLowerCase().endsWith('.onnx'));
        if (onnxFile) {
          try {
            const sig = await readOnnxSignature(onnxFile.objectPath, onnxFile.file.path);
            signature = { ...sig, features: onnxFeatures(sig) };
          } catch (err) {
            if (err instanceof OnnxFormatError)
              throw new InvalidInputError(`${onnxFile.file.path}: ${err.message}`, {
                code: 'E_BAD_ONNX',
                hint: 'Check that the file is a complete ONNX model (onnx.checker.check_model); nothing was registered.',
              });
            throw err;
          }
        }
      }
      return { report, signature };
    },
    // The rows go through the add's domain operation (core/remote/apply.ts writes them), so a replica shares them.
    storedOf: (checked) => {
      const c = checked as Checked;
      return {
        scan: { report: c.report, override: c.report.verdict === 'unsafe' ? `--unsafe by ${opts.actor}` : null },
        signature: c.signature,
      };
    },
    eventDetails: (checked) => {
      const c = checked as Checked;
      return {
        scan: c.report.verdict,
        ...(c.report.verdict === 'unsafe'
          ? { unsafe: true, findings: c.report.findings.slice(0, 20).map(describeFinding) }
          : {}),
        ...(c.report.allowExtra.length ? { allowImports: c.report.allowExtra } : {}),
      };
    },
  };
}

const KINDS = new Set(['number', 'category', 'any']);

/** `--signature FILE.json`: {"features": [{"name": "age", "kind": "number"}, "city", …]}. */
export async function readGivenSignature(file: string): Promise<GivenSignature> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError)
      throw new InvalidInputError(`${file} is not valid JSON (${err.message})`, {
        code: 'E_BAD_SIGNATURE',
        details: { option: 'signature' },
        hint: 'Write {"features": [{"name": "age", "kind": "number"}, {"name": "city", "kind": "category"}]}.',
      });
    throw fromSystemError(err, 'the signature file');
  }
  const features = (doc as { features?: unknown })?.features;
  const bad = (): InvalidInputError =>
    new InvalidInputError(`${file} needs a "features" list of names or {"name", "kind"} objects`, {
      code: 'E_BAD_SIGNATURE',
      details: { option: 'signature' },
      hint: 'kind is number, category or any; e.g. {"features": [{"name": "age", "kind": "number"}, "city"]}.',
    });
  if (!Array.isArray(features) || features.length === 0) throw bad();
  const out: Feature[] = features.map((f: unknown) => {
    if (typeof f === 'string' && f) return { name: f, kind: 'any' };
    const o = f as { name?: unknown; kind?: unknown };
    if (typeof o?.name !== 'string' || !o.name || (o.kind !== undefined && !KINDS.has(o.kind as string))) throw bad();
    return { name: o.name, kind: (o.kind as Feature['kind'] | undefined) ?? 'any' };
  });
  if (new Set(out.map((f) => f.name)).size !== out.length) throw bad();
  return { format: 'given', features: out };
}
