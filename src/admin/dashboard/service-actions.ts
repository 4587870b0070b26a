/// <reference lib="dom" />
/**
 * The service page's actions: scale to a count for a TTL, clear the override, pause or resume,
 * and the chart range. Each action reports in the status line and then refreshes the page.
 */
import { h } from './dom.js';
import { ApiError } from './api-client.js';
import type { PageContext } from './overview-page.js';

/** What {@link createServiceActions} needs besides the page context. */
export interface ServiceActionsOptions {
  service: string;
  /** The chart ranges offered, the first one live. */
  ranges: string[];
  /** Re-reads the service after an action. */
  refresh(): Promise<void>;
  /** Whether the service is paused now (the pause button toggles it). */
  paused(): boolean | undefined;
}

/** The actions form, its status line and the controls the page updates or listens to. */
export interface ServiceActions {
  form: HTMLFormElement;
  status: HTMLElement;
  scaleInput: HTMLInputElement;
  pauseBtn: HTMLButtonElement;
  rangeSel: HTMLSelectElement;
}

/** Builds the actions form of one service. */
export function createServiceActions(ctx: PageContext, options: ServiceActionsOptions): ServiceActions {
  const { api } = ctx;
  const name = options.service;
  const status = h('p', { class: 'status', id: 'action-status', role: 'status' });
  const scaleInput = h('input', {
    type: 'number',
    min: 0,
    max: 100000,
    id: 'scale-replicas',
    'aria-label': 'replicas',
    value: 1,
  });
  const ttlInput = h('input', {
    type: 'text',
    id: 'scale-ttl',
    value: '10m',
    size: 5,
    'aria-label': 'TTL',
    pattern: '\\d+(\\.\\d+)?(ms|s|m|h|d)?',
  });
  const pauseBtn = h('button', { type: 'button', id: 'pause' }, 'Pause');
  const rangeSel = h(
    'select',
    { id: 'range', 'aria-label': 'chart range' },
    ...options.ranges.map((r) => h('option', { value: r }, r === '15m' ? '15 min (live)' : r)),
  );

  const act = (label: string, fn: () => Promise<unknown>) => async () => {
    status.textContent = `${label}…`;
    try {
      await fn();
      status.textContent = `${label}: done`;
      await options.refresh();
    } catch (err) {
      status.textContent = `${label}: ${err instanceof ApiError ? `${err.code}: ${err.message}` : String(err)}`;
      ctx.fail(err);
    }
  };

  const form = h(
    'form',
    { class: 'actions', id: 'actions', onsubmit: (e: Event) => e.preventDefault() },
    h('label', {}, 'Scale to ', scaleInput),
    h('label', {}, ' for ', ttlInput),
    h(
      'button',
      {
        type: 'submit',
        id: 'scale',
        onclick: act('Scale', () =>
          api.scale(name, {
            replicas: Number(scaleInput.value),
            ...(ttlInput.value ? { ttl: ttlInput.value } : {}),
          }),
        ),
      },
      'Scale',
    ),
    h(
      'button',
      { type: 'button', id: 'clear-scale', onclick: act('Clear override', () => api.clearScale(name)) },
      'Clear override',
    ),
    pauseBtn,
    h('label', { class: 'range' }, 'Charts ', rangeSel),
  );
  pauseBtn.addEventListener(
    'click',
    act('Pause/resume', () => api.pause(name, !options.paused())),
  );
  return { form, status, scaleInput, pauseBtn, rangeSel };
}
