import 'uplot/dist/uPlot.min.css';
import './style.css';
import { ApiError } from './api.js';
import { h, replace } from './dom.js';
import { artifactPage } from './pages/artifact.js';
import { artifactsPage } from './pages/artifacts.js';
import { checkPage } from './pages/check.js';
import { comparePage } from './pages/compare.js';
import { historyPage } from './pages/history.js';
import { monitorPage } from './pages/monitor.js';
import { versionPage } from './pages/version.js';

/** The pages of `mlreg ui`, by path (the server answers each of these paths with the same shell). */
const ROUTES: [RegExp, (app: HTMLElement, ...params: string[]) => Promise<void>][] = [
  [/^\/$/, artifactsPage],
  [/^\/artifacts\/([^/]+)$/, artifactPage],
  [/^\/artifacts\/([^/]+)\/versions\/([^/]+)$/, versionPage],
  [/^\/artifacts\/([^/]+)\/history$/, historyPage],
  [/^\/artifacts\/([^/]+)\/monitor$/, monitorPage],
  [/^\/compare$/, comparePage],
  [/^\/check$/, checkPage],
];

async function route(): Promise<void> {
  const app = document.getElementById('app')!;
  for (const [re, page] of ROUTES) {
    const m = re.exec(location.pathname);
    if (!m) continue;
    try {
      await page(app, ...m.slice(1).map(decodeURIComponent));
      app.setAttribute('data-ready', 'true');
    } catch (err) {
      replace(
        app,
        h('h1', null, 'Could not show this page'),
        h('p', { class: 'error' }, err instanceof Error ? err.message : String(err)),
        err instanceof ApiError && err.hint ? h('p', { class: 'muted' }, err.hint) : null,
      );
      app.setAttribute('data-ready', 'error');
    }
    return;
  }
  replace(app, h('h1', null, 'Not found'));
}

void route();
