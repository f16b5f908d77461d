import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { ROOT } from '../../helpers.js';

/**
 * Core says what is wrong and names an option with optionRef(); only the CLI spells it as a flag.
 * This reads every string literal and template text of src/core (comments are not tokens here, so
 * they may mention flags) and fails on one that spells `--name`.
 */

/**
 * Strings that spell a flag on purpose, each with why. Values stored in the registry are records,
 * not messages: a mark must never be stored (the index, the remote log and backups keep it, and
 * readers other than the CLI would show it), and their text is documented in registry/FORMAT.md.
 */
const ALLOWED: { file: string; text: string; why: string }[] = [
  { file: 'datasets/profile/profiler.ts', text: '--expose-gc', why: "a V8 flag, not one of mlreg's" },
  { file: 'models/add-hooks.ts', text: '--unsafe by ', why: 'stored: model_scans.override (FORMAT.md)' },
  {
    file: 'models/allowlist.ts',
    text: 'allowed by the user (--allow-import or scan.allow)',
    why: "stored: a finding's why in model_scans.report",
  },
  { file: 'store/gc.ts', text: 'gc --keep-last ', why: "stored: the delete event's reason in the audit log" },
];

const FLAG = /(^|[^A-Za-z0-9_-])--[a-z]/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every string literal and piece of template text of a source file, with its line. */
function stringsIn(name: string, source: string): { text: string; line: number }[] {
  const file = ts.createSourceFile(name, source, ts.ScriptTarget.Latest, false);
  const out: { text: string; line: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      out.push({ text: node.text, line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1 });
    }
    node.forEachChild(visit);
  };
  visit(file);
  return out;
}

test('no string in src/core spells a command-line flag (core names options with optionRef)', () => {
  const core = join(ROOT, 'src', 'core');
  const found: string[] = [];
  const files = sources(core);
  for (const path of files) {
    const file = relative(core, path);
    const source = readFileSync(path, 'utf8');
    // Parsing is the slow part: a file with no `--x` anywhere has no string that spells one.
    if (!/--[a-z]/.test(source)) continue;
    for (const s of stringsIn(path, source)) {
      if (!FLAG.test(s.text)) continue;
      if (ALLOWED.some((a) => a.file === file && s.text.includes(a.text))) continue;
      found.push(`src/core/${file}:${s.line}: ${JSON.stringify(s.text)}`);
    }
  }
  assert.ok(files.length > 100, `only ${files.length} files read: is src/core where it should be?`);
  assert.deepEqual(found, [], `spell these options with optionRef('name'):\n${found.join('\n')}`);
});

test('the scan sees flags in every kind of string, and not in comments', () => {
  // `#{` stands for a template placeholder (a linter would take the sample's own for a slip).
  const sample = [
    "const a = 'pass --force';",
    'const b = `use --to #{v} now`;',
    'const c = `#{x} then --stage #{y}`;',
    'const d = `#{x} or --all`;',
    'const e = `mlreg history #{name} --stage #{stage}`;',
    '// a comment with --comment',
    '/** and --jsdoc */',
    "const f = 'a -- b, x--y, --';",
  ]
    .join('\n')
    .replaceAll('#{', '$' + '{');
  assert.deepEqual(
    stringsIn('sample.ts', sample)
      .filter((s) => FLAG.test(s.text))
      .map((s) => s.text),
    ['pass --force', 'use --to ', ' then --stage ', ' or --all', ' --stage '],
  );
});
