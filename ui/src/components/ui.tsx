/** The building blocks every page uses: a titled page, cards, tables, status badges, loading. */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { asRefusal, type ApiRefusal } from '../api/client.ts';

export function Page({ title, actions, children }: { title: string; actions?: ComponentChildren; children: ComponentChildren }): JSX.Element {
  return (
    <>
      <div class="page-head">
        <h1 tabIndex={-1}>{title}</h1>
        {actions && <div class="page-actions">{actions}</div>}
      </div>
      {children}
    </>
  );
}

export function Card({ title, children, id }: { title?: string; children: ComponentChildren; id?: string }): JSX.Element {
  const headingId = id ? `${id}-title` : undefined;
  return (
    <section class="card" aria-labelledby={headingId} id={id}>
      {title && <h2 id={headingId}>{title}</h2>}
      {children}
    </section>
  );
}

export interface Column<T> {
  label: string;
  cell: (row: T) => ComponentChildren;
  /** hidden below 600 px: tables keep their key columns on a phone */
  secondary?: boolean;
}

export function Table<T>({ rows, columns, empty, caption, rowKey }: { rows: T[]; columns: Column<T>[]; empty: string; caption: string; rowKey: (row: T) => string | number }): JSX.Element {
  if (rows.length === 0) return <p class="empty">{empty}</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c.label} class={c.secondary ? 'secondary' : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td key={c.label} class={c.secondary ? 'secondary' : undefined} data-label={c.label}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const TONES: Record<string, string> = {
  ready: 'good',
  succeeded: 'good',
  done: 'good',
  'in sync': 'good',
  active: 'good',
  offline: 'bad',
  failed: 'bad',
  'de-synced': 'bad',
  suspended: 'bad',
  abandoned: 'bad',
  held: 'warn',
  rolling_back: 'warn',
  rolled_back: 'warn',
  undone: 'warn',
  disabled: 'muted',
  pending: 'muted',
  skipped: 'muted',
};

export function Badge({ value, label }: { value: string; label?: string }): JSX.Element {
  return <span class={`badge ${TONES[value] ?? 'busy'}`}>{label ?? value.replace(/_/g, ' ')}</span>;
}

export function Refusal({ refusal }: { refusal: ApiRefusal | null }): JSX.Element | null {
  if (!refusal) return null;
  return (
    <p class="refusal" role="alert">
      {refusal.message}
    </p>
  );
}

/** Loads once (and again on reload()); a 403 or 404 becomes the page's own message. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; refusal: ApiRefusal | null; reload: () => void } {
  const [state, setState] = useState<{ data: T | null; refusal: ApiRefusal | null }>({ data: null, refusal: null });
  const [generation, setGeneration] = useState(0);
  const run = useCallback(load, deps);
  useEffect(() => {
    let live = true;
    run().then(
      (data) => live && setState({ data, refusal: null }),
      (error: unknown) => live && setState({ data: null, refusal: asRefusal(error) }),
    );
    return () => {
      live = false;
    };
  }, [run, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}

/** What a page shows while it loads, or instead of itself when the API refused. */
export function Loading<T>({ state, children }: { state: { data: T | null; refusal: ApiRefusal | null }; children: (data: T) => ComponentChildren }): JSX.Element {
  if (state.refusal) {
    if (state.refusal.status === 403) return <Forbidden message={state.refusal.message} />;
    if (state.refusal.status === 404) return <NotFound message={state.refusal.message} />;
    return <Refusal refusal={state.refusal} />;
  }
  if (state.data === null) return <p class="loading" aria-live="polite">Loading…</p>;
  return <>{children(state.data)}</>;
}

export function Forbidden({ message }: { message: string }): JSX.Element {
  return (
    <Page title="403 — not allowed">
      <Card>
        <p class="status-code" data-status="403">
          {message}
        </p>
        <p>
          <a href="#/">Back to your overview</a>
        </p>
      </Card>
    </Page>
  );
}

export function NotFound({ message }: { message: string }): JSX.Element {
  return (
    <Page title="404 — not found">
      <Card>
        <p class="status-code" data-status="404">
          {message}
        </p>
        <p>
          <a href="#/">Back to your overview</a>
        </p>
      </Card>
    </Page>
  );
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
