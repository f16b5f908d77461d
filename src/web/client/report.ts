import 'uplot/dist/uPlot.min.css';
import './style.css';
import { disableLinks, h, replace } from './dom.js';
import { compareView } from './pages/compare.js';
import { driftView } from './pages/drift.js';
import type { ReportDoc } from '../wire.js';

/**
 * A static HTML report (`check … --format html`, `compare … --format html`): the same views as the
 * app, drawn from the JSON embedded in the file instead of fetched from a server.
 */
function render(): void {
  const app = document.getElementById('app')!;
  const data = JSON.parse(document.getElementById('mlreg-data')!.textContent ?? 'null') as ReportDoc;
  disableLinks();
  const made = h('p', { class: 'muted footer' }, `Made by mlreg at ${data.generatedAt}.`);
  if (data.kind === 'check') {
    const r = data.drift.report;
    replace(app, h('h1', null, 'Check ', r.current.label, ' against ', r.reference.label), driftView(data.drift), made);
  } else {
    replace(app, ...compareView(data.compare), made);
  }
  app.setAttribute('data-ready', 'true');
}

render();
