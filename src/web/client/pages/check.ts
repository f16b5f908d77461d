import { get } from '../api.js';
import { h, replace } from '../dom.js';
import type { DriftDoc } from '../../wire.js';
import { driftView } from './drift.js';

/** `check CURRENT --against REFERENCE` on two registered dataset versions. */
export async function checkPage(app: HTMLElement): Promise<void> {
  const q = new URLSearchParams(location.search);
  const current = q.get('current') ?? '';
  const against = q.get('against') ?? '';
  const doc = await get<DriftDoc>(
    `/check?current=${encodeURIComponent(current)}&against=${encodeURIComponent(against)}`,
  );
  document.title = `Check ${current} against ${against} · mlreg`;
  replace(app, h('h1', null, 'Check ', current, ' against ', against), driftView(doc));
}
