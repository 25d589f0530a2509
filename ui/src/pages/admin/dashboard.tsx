/** The administrator's overview: nodes with status and health, jobs under way, system data out of sync, in one call. */
import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import { api, call } from '../../api/client.ts';
import { Badge, Card, Loading, Page, Table, useLoad, when } from '../../components/ui.tsx';
import { href } from '../../router.ts';

const loadOverview = () => call(api.GET('/api/overview'));
let early: ReturnType<typeof loadOverview> | null = null;

/** Asks for the overview at once (as the login succeeds), so it travels while the panel renders. */
export function prefetchOverview(): void {
  early = loadOverview();
  // Whoever takes it reads its refusal; until then it must not count as unhandled.
  early.catch(() => undefined);
}

export function Dashboard(): JSX.Element {
  // One request: the parent answers the whole overview at once (GET /api/overview); the first may be under way already.
  const state = useLoad(() => {
    const answer = early ?? loadOverview();
    early = null;
    return answer;
  }, []);
  // Health changes on its own (a node goes offline); the overview follows it every 10 s.
  useEffect(() => {
    const timer = setInterval(() => document.visibilityState === 'visible' && state.reload(), 10_000);
    return () => clearInterval(timer);
  }, [state.reload]);
  return (
    <Page title="Dashboard">
      <Loading state={state}>
        {({ nodes, jobsUnderWay: jobs, desyncs, accounts }) => {
          const ready = nodes.filter((n) => n.status === 'ready').length;
          return (
            <>
              <div class="tiles">
                <a class="tile" href={href('nodes')}>
                  {/* Element Timing: the browser test reads when the dashboard's data first painted. */}
                  <span class="tile-value" {...{ elementtiming: 'dashboard' }}>
                    {ready}/{nodes.length}
                  </span>
                  <span class="tile-label">nodes ready</span>
                </a>
                <a class="tile" href={href('accounts')}>
                  <span class="tile-value">{accounts.total}</span>
                  <span class="tile-label">accounts ({accounts.suspended} suspended)</span>
                </a>
                <a class="tile" href={href('jobs')}>
                  <span class="tile-value">{jobs.length}</span>
                  <span class="tile-label">jobs under way</span>
                </a>
                <a class={`tile ${desyncs.length ? 'tile-bad' : ''}`} href={href('sysdata')}>
                  <span class="tile-value">{desyncs.length}</span>
                  <span class="tile-label">system data de-synced</span>
                </a>
              </div>
              <Card title="Nodes" id="dash-nodes">
                <Table
                  caption="Nodes with status and health"
                  rows={nodes}
                  rowKey={(n) => n.alias}
                  empty="No nodes are linked yet."
                  columns={[
                    { label: 'Node', cell: (n) => <a href={href('nodes', n.alias)}>{n.alias}</a> },
                    { label: 'Status', cell: (n) => <Badge value={n.status} label={n.statusLabel} /> },
                    { label: 'Roles', cell: (n) => n.roles.join(', ') || '—', secondary: true },
                    {
                      label: 'Services',
                      cell: (n) =>
                        n.services.length === 0 ? '—' : (
                          <span class="services">
                            {n.services.map((s) => (
                              <span key={s.name} class={`svc ${s.running ? 'up' : 'down'}`} title={`${s.name} ${s.running ? 'running' : 'stopped'}`}>
                                {s.name}
                                <span class="sr-only">{s.running ? ' running' : ' stopped'}</span>
                              </span>
                            ))}
                          </span>
                        ),
                      secondary: true,
                    },
                    { label: 'Last check', cell: (n) => when(n.lastCheckAt), secondary: true },
                  ]}
                />
              </Card>
              <div class="grid-2">
                <Card title="Jobs under way" id="dash-jobs">
                  <Table
                    caption="Jobs under way"
                    rows={jobs}
                    rowKey={(j) => j.id}
                    empty="No job is running."
                    columns={[
                      { label: 'Job', cell: (j) => <a href={href('jobs', j.id)}>#{j.id} {j.type}</a> },
                      { label: 'Of', cell: (j) => j.key },
                      { label: 'State', cell: (j) => <Badge value={j.state} /> },
                    ]}
                  />
                </Card>
                <Card title="De-synced system data" id="dash-desync">
                  <Table
                    caption="De-synced system data"
                    rows={desyncs}
                    rowKey={(d) => `${d.type}-${d.node}`}
                    empty="Every node holds the same system data."
                    columns={[
                      { label: 'Type', cell: (d) => d.type },
                      { label: 'Node', cell: (d) => d.node },
                      { label: 'Since', cell: (d) => when(d.since), secondary: true },
                      { label: 'Why', cell: (d) => d.reason ?? '—' },
                    ]}
                  />
                </Card>
              </div>
            </>
          );
        }}
      </Loading>
    </Page>
  );
}
