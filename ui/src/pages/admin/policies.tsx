/** Password policies per node: the minimum zxcvbn score per kind of password, and where it comes from. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, call } from '../../api/client.ts';
import type { PolicyView } from '../../api/types.ts';
import { Form, SelectField, useAction } from '../../components/form.tsx';
import { Card, Loading, Page, Table, useLoad } from '../../components/ui.tsx';

const SCORES = ['0 — anything', '1 — very weak', '2 — weak', '3 — strong', '4 — very strong'];
type Kind = PolicyView['kinds'][number]['kind'];

export function PoliciesPage(): JSX.Element {
  const state = useLoad(async () => {
    const nodes = (await call(api.GET('/api/nodes'))).nodes;
    const views = await Promise.all(nodes.map((n) => call(api.GET('/api/password-policy', { params: { query: n.local ? {} : { node: n.alias } } }))));
    return nodes.map((node, i) => ({ node, view: views[i]! }));
  }, []);
  return (
    <Page title="Password policies">
      <p class="lead">Each node keeps its own settings. The parent's apply by default; a mail child's mail settings apply to the accounts whose mail it holds.</p>
      <Loading state={state}>
        {(rows) => (
          <div class="grid-2">
            {rows.map(({ node, view }) => (
              <Card key={node.alias} title={node.local ? `${node.alias} (the parent)` : node.alias} id={`policy-${node.alias}`}>
                <PolicyCard alias={node.local ? undefined : node.alias} view={view} onSaved={state.reload} />
              </Card>
            ))}
          </div>
        )}
      </Loading>
    </Page>
  );
}

function PolicyCard({ alias, view, onSaved }: { alias: string | undefined; view: PolicyView; onSaved: () => void }): JSX.Element {
  const [kind, setKind] = useState<Kind>('mail');
  const [score, setScore] = useState(String(view.kinds.find((k) => k.kind === 'mail')?.minScore ?? 3));
  const action = useAction();
  return (
    <>
      <Table
        caption={`Password policy of ${alias ?? 'the parent'}`}
        rows={view.kinds}
        rowKey={(k) => k.kind}
        empty="No settings."
        columns={[
          { label: 'Kind', cell: (k) => k.kind },
          { label: 'Minimum', cell: (k) => SCORES[k.minScore] ?? String(k.minScore) },
          { label: 'From', cell: (k) => k.from, secondary: true },
        ]}
      />
      <Form action={action} label={`Set a minimum on ${alias ?? 'the parent'}`} fields={['kind', 'minScore']} submit="Set" onSubmit={() => void action.run(async () => (await call(api.PUT('/api/password-policy', { body: { ...(alias ? { node: alias } : {}), kind, minScore: Number(score) } })), onSaved()))}>
        <div class="row">
          <SelectField name="kind" label="Kind" value={kind} onValue={(v) => setKind(v as Kind)} options={view.kinds.map((k) => ({ value: k.kind, label: k.kind }))} />
          <SelectField name="minScore" label="Minimum score" value={score} onValue={setScore} options={SCORES.map((label, i) => ({ value: String(i), label }))} />
        </div>
      </Form>
    </>
  );
}
