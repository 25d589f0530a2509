/** System data per type (firewall, mail whitelist and blacklist, scheduler) with each node's sync state. */
import type { JSX } from 'preact';
import { api, call } from '../../api/client.ts';
import { useAction } from '../../components/form.tsx';
import { Badge, Card, Loading, Page, Refusal, Table, useLoad, when } from '../../components/ui.tsx';

export function SysdataPage(): JSX.Element {
  const state = useLoad(() => call(api.GET('/api/sysdata/status')), []);
  const check = useAction();
  return (
    <Page
      title="System data"
      actions={
        <button type="button" disabled={check.busy} onClick={() => void check.run(async () => (await call(api.POST('/api/sysdata/check')), state.reload()))}>
          {check.busy ? 'Checking…' : 'Check every node now'}
        </button>
      }
    >
      <Refusal refusal={check.refusal} />
      <Loading state={state}>
        {({ types }) => (
          <div class="grid-2">
            {types.map((type) => (
              <Card key={type.type} title={type.type} id={`sysdata-${type.type}`}>
                <p class="hint">
                  {type.items} item{type.items === 1 ? '' : 's'} · digest <code>{type.digest.slice(0, 12)}</code> · changes need {type.policyPercent}% of the nodes ready
                </p>
                <Table
                  caption={`${type.type} on each node`}
                  rows={type.nodes}
                  rowKey={(n) => n.node}
                  empty="No node takes this type."
                  columns={[
                    { label: 'Node', cell: (n) => n.node },
                    { label: 'Sync', cell: (n) => <Badge value={n.inSync ? 'in sync' : 'de-synced'} /> },
                    { label: 'Since', cell: (n) => when(n.since), secondary: true },
                    { label: 'Why', cell: (n) => n.reason ?? '—', secondary: true },
                  ]}
                />
              </Card>
            ))}
          </div>
        )}
      </Loading>
    </Page>
  );
}
