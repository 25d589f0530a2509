/** An account's DNS zone as its DNS node serves it; user records can be added and removed. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, call } from '../../api/client.ts';
import type { AccountView } from '../../api/types.ts';
import { Form, SelectField, TextField, useAction } from '../../components/form.tsx';
import { Badge, Card, Loading, Refusal, Table, useLoad } from '../../components/ui.tsx';

const TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'CAA', 'NS'] as const;

export function DnsCard({ account }: { account: AccountView }): JSX.Element {
  const path = { params: { path: { username: account.username } } };
  const state = useLoad(() => call(api.GET('/api/accounts/{username}/dns/records', path)), [account.username]);
  const [name, setName] = useState('');
  const [type, setType] = useState<(typeof TYPES)[number]>('TXT');
  const [content, setContent] = useState('');
  const [ttl, setTtl] = useState('');
  const add = useAction();
  const remove = useAction();
  return (
    <Card title="DNS records" id="dns">
      <Loading state={state}>
        {(zone) => (
          <>
            <p class="hint">
              The zone {zone.domain} as {zone.proxiedFrom} serves it now. Records Fleetpanel manages (mail, web, webmail) follow the account and cannot be removed here.
            </p>
            <Table
              caption={`Records of ${zone.domain}`}
              rows={zone.records}
              rowKey={(r) => `${r.name}|${r.type}|${r.content}`}
              empty="The zone is empty."
              columns={[
                { label: 'Name', cell: (r) => r.name },
                { label: 'Type', cell: (r) => r.type },
                { label: 'Content', cell: (r) => <code class="wrap">{r.content}</code> },
                { label: 'TTL', cell: (r) => String(r.ttl), secondary: true },
                {
                  label: 'Actions',
                  cell: (r) =>
                    r.id === null ? (
                      <Badge value="managed" />
                    ) : (
                      <button type="button" class="small danger" disabled={remove.busy} onClick={() => void remove.run(async () => (await call(api.DELETE('/api/accounts/{username}/dns/records/{id}', { params: { path: { username: account.username, id: r.id! } } })), state.reload()))}>
                        Remove
                      </button>
                    ),
                },
              ]}
            />
          </>
        )}
      </Loading>
      <Refusal refusal={remove.refusal} />
      <h3>Add a record</h3>
      <Form
        action={add}
        label="Add a DNS record"
        fields={['name', 'type', 'content', 'ttl']}
        submit="Add record"
        onSubmit={() =>
          void add.run(async () => {
            await call(api.POST('/api/accounts/{username}/dns/records', { ...path, body: { name: name || '@', type, content, ...(ttl ? { ttl: Number(ttl) } : {}) } }));
            setName('');
            setContent('');
            state.reload();
          })
        }
      >
        <div class="row">
          <TextField name="name" label="Name ('@' for the domain itself)" value={name} onValue={setName} autoComplete="off" placeholder="_dmarc" />
          <SelectField name="type" label="Type" value={type} onValue={(v) => setType(v as (typeof TYPES)[number])} options={TYPES.map((t) => ({ value: t, label: t }))} />
          <TextField name="ttl" label="TTL in seconds" value={ttl} onValue={setTtl} inputMode="numeric" placeholder="3600" />
        </div>
        <TextField name="content" label="Content" value={content} onValue={setContent} autoComplete="off" placeholder="v=DMARC1; p=none" />
      </Form>
    </Card>
  );
}
