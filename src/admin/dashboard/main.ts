/// <reference lib="dom" />
/**
 * The dashboard's shell: routing (`#/` overview, `#/service/NAME`), the login form (a token kept
 * in sessionStorage and sent as a Bearer token), the dark/light toggle and the load-time mark
 * `luascale:loaded` (set when the first page shows API data; the browser test reads it).
 */
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import { h } from './dom.js';
import { ApiError, createApiClient, saveToken, savedToken } from './api-client.js';
import { renderOverview, type PageContext } from './overview-page.js';
import { renderServicePage } from './service-page.js';

const THEMES = ['auto', 'dark', 'light'] as const;
type Theme = (typeof THEMES)[number];

const api = createApiClient();
const main = document.getElementById('main')!;
const loginForm = document.getElementById('login') as HTMLFormElement;
const tokenInput = document.getElementById('token') as HTMLInputElement;
const loginNote = document.getElementById('login-note')!;
const signOut = document.getElementById('sign-out') as HTMLButtonElement;
const themeBtn = document.getElementById('theme') as HTMLButtonElement;
const banner = document.getElementById('banner')!;
const liveEl = document.getElementById('live')!;

let dispose: (() => void) | null = null;
let loadedOnce = false;

const ctx: PageContext = {
  api,
  fail(err) {
    if (err instanceof ApiError && err.status === 401) {
      showLogin(
        savedToken() ? 'That token was refused. Enter the admin token.' : 'This admin API needs a token.',
      );
      return;
    }
    banner.textContent =
      err instanceof ApiError ? `${err.code}: ${err.message}` : `Cannot reach the admin API: ${String(err)}`;
    banner.hidden = false;
  },
  streamState(open) {
    document.body.dataset.stream = open ? 'open' : 'closed';
    liveEl.textContent = open ? '● live' : '○ reconnecting';
    liveEl.className = open ? 'ok' : 'muted';
  },
  loaded() {
    banner.hidden = true;
    if (loadedOnce) return;
    loadedOnce = true;
    performance.mark('luascale:loaded');
    document.body.dataset.loaded = 'true';
  },
};

function showLogin(note: string) {
  dispose?.();
  dispose = null;
  loginForm.hidden = false;
  signOut.hidden = true;
  loginNote.textContent = note;
  main.replaceChildren(h('p', { class: 'muted', id: 'login-needed' }, note));
  tokenInput.focus();
}

function route() {
  dispose?.();
  document.body.dataset.stream = 'connecting';
  liveEl.textContent = '';
  banner.hidden = true;
  loginForm.hidden = true;
  signOut.hidden = !savedToken();
  const m = /^#\/service\/(.+)$/.exec(location.hash);
  dispose = m ? renderServicePage(main, ctx, decodeURIComponent(m[1]!)) : renderOverview(main, ctx);
}

function applyTheme(t: Theme) {
  if (t === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
  themeBtn.textContent = `theme: ${t}`;
  document.dispatchEvent(new Event('themechange'));
}

loginForm.addEventListener('submit', (e) => {
  e.preventDefault();
  saveToken(tokenInput.value.trim());
  tokenInput.value = '';
  route();
});
signOut.addEventListener('click', () => {
  saveToken('');
  showLogin('Signed out.');
});
themeBtn.addEventListener('click', () => {
  const cur = (localStorage.getItem('luascale.theme') as Theme | null) ?? 'auto';
  const next = THEMES[(THEMES.indexOf(cur) + 1) % THEMES.length]!;
  localStorage.setItem('luascale.theme', next);
  applyTheme(next);
});
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () =>
  document.dispatchEvent(new Event('themechange')),
);
window.addEventListener('hashchange', route);
applyTheme((localStorage.getItem('luascale.theme') as Theme | null) ?? 'auto');
route();
