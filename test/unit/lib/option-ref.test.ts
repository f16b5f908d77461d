import assert from 'node:assert/strict';
import { test } from 'node:test';
import { optionRef, renderOptionRefs } from '../../../src/core/lib/option-ref.js';

const asFlag = (name: string): string => `--${name}`;

test('a mark names an option without spelling it, and rendering spells every mark', () => {
  const text = `less than ${optionRef('min-delta')} 0.02; pass ${optionRef('force')} or ${optionRef('force')}`;
  assert.doesNotMatch(text, /--/);
  assert.equal(renderOptionRefs(text, asFlag), 'less than --min-delta 0.02; pass --force or --force');
  assert.equal(
    renderOptionRefs(text, (n) => `<${n}>`),
    'less than <min-delta> 0.02; pass <force> or <force>',
  );
});

test('text without marks, and stray private-use characters that are not a mark, come back as they were', () => {
  for (const text of ['', 'pass --force', 'a \u{E000} b', '\u{E000}Force\u{E001}', '\u{E000}\u{E001}', 'x\u{E001}y'])
    assert.equal(renderOptionRefs(text, asFlag), text);
});
