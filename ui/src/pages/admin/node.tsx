/**
 * One node, live: its status and the installation steps stream in from the parent while it is
 * installed, then its profile, its enabled switch, its unlink guard and the accounts whose mail it
 * holds (with forced dedistribution behind a confirmation).
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, asRefusal, call, type ApiRefusal } from '../../api/client.ts';
import { follow } from '../../api/live.ts';
import type { NodeDetail } from '../../api/types.ts';
import { Confirm } from '../../components/confirm.tsx';
import { Form, SelectField, useAction } from '../../components/form.tsx';
import { Badge, Card, Loading, Page, Refusal, Table, when } from '../../components/ui.tsx';
import { href } from '../../router.ts';
import { PROFILES } from './nodes.tsx';
import { ForceDedistribute } from './force-dedistribute.tsx';

interface InstallStep {
  number: number;
  total: number;
  title: string;
  state: 'running' | 'done' | 'failed';
  detail: string;
}

/** The installer reports "step 3/8 title: running", then "step 3/8 title: what it did" (or the failure). */
export function installSteps(node: NodeDetail): InstallStep[] {
  const steps = new Map<number, InstallStep>();
  for (const event of [...node.events].reverse()) {
    const match = /^step (\d+)\/(\d+) (.+?): (.*)$/s.exec(event.message);
    if (!match) continue;
    const [, number, total, title, rest] = match;
    const failed = /^failed|failed at step/i.test(rest!) || (node.statusDetail?.startsWith(`failed at step ${number}`) ?? false);
    steps.set(Number(number), { number: Number(number), total: Number(total), title: title!, state: rest === 'running' ? 'running' : failed ? 'failed' : 'done', detail: rest === 'running' ? '' : rest! });
  }
  return [...steps.values()].sort((a, b) => a.number - b.number);
}

function useLiveNode(alias: string): { data: NodeDetail | null; refusal: ApiRefusal | null } {
  const [state, setState] = useState<{ data: NodeDetail | null; refusal: ApiRefusal | null }>({ data: null, refusal: null });
  useEffect(() => {
    setState({ data: null, refusal: null });
    let stop = (): void => undefined;
    // The first answer goes through the typed client, so a refusal (404, 403) shows as a page.
    call(api.GET('/api/nodes/{alias}', { params: { path: { alias } } })).then(
      (node) => {
        setState({ data: node, refusal: null });
        stop = follow(`/api/nodes/${encodeURIComponent(alias)}/stream`, (message) => {
          if (message.event === 'node') setState({ data: message.data as NodeDetail, refusal: null });
        });
      },
      (error: unknown) => setState({ data: null, refusal: asRefusal(error) }),
    );
    return () => stop();
  }, [alias]);
  return state;
}

export function NodePage({ alias }: { alias: string }): JSX.Element {
  const state = useLiveNode(alias);
  return (
    <Loading state={state}>
      {(node) => {
        const steps = installSteps(node);
        return (
          <Page title={`Node ${node.alias}`} actions={<a href={href('nodes')}>All nodes</a>}>
            <div class="grid-2">
              <Card title="Status" id="node-status">
                <dl class="facts">
                  <dt>Status</dt>
                  <dd data-node-status={node.status}>
                    <Badge value={node.status} label={node.statusLabel} />
                    {node.statusDetail && <span class="detail"> {node.statusDetail}</span>}
                  </dd>
                  <dt>Address</dt>
                  <dd>
                    {node.host}:{node.agentPort}
                  </dd>
                  <dt>Profile and roles</dt>
                  <dd>
                    {node.profile} — {node.roles.join(', ') || 'none'}
                  </dd>
                  <dt>Agent</dt>
                  <dd>
                    {node.agentVersion ?? '—'} {node.tlsVerified ? '(certificate pinned)' : '(TLS not verified)'}
                  </dd>
                  <dt>Last health check</dt>
                  <dd>{when(node.lastCheckAt)}</dd>
                  <dt>Services</dt>
                  <dd class="services">
                    {node.services.length === 0
                      ? '—'
                      : node.services.map((s) => (
                          <span key={s.name} class={`svc ${s.running ? 'up' : 'down'}`}>
                            {s.name}
                            <span class="sr-only">{s.running ? ' running' : ' stopped'}</span>
                          </span>
                        ))}
                  </dd>
                </dl>
              </Card>
              {steps.length > 0 && (
                <Card title="Installation over SSH" id="install-steps">
                  <ol class="steps" aria-live="polite">
                    {steps.map((step) => (
                      <li key={step.number} class={`step step-${step.state}`} data-step={step.title} data-state={step.state}>
                        <span class="step-dot" aria-hidden="true" />
                        <span class="step-name">
                          {step.number}/{step.total} {step.title}
                        </span>
                        <Badge value={step.state === 'done' ? 'done' : step.state} />
                        {step.detail && <small class="step-detail">{step.detail}</small>}
                      </li>
                    ))}
                  </ol>
                </Card>
              )}
            </div>
            {!node.local && <NodeSettings node={node} />}
            {!node.local && node.roles.includes('mail') && <ForceDedistribute alias={node.alias} />}
            <Card title="Events" id="node-events">
              <Table
                caption="Node events, newest first"
                rows={node.events}
                rowKey={(e) => `${e.at}-${e.message}`}
                empty="No events."
                columns={[
                  { label: 'When', cell: (e) => when(e.at) },
                  { label: 'Status', cell: (e) => e.status.replace(/_/g, ' '), secondary: true },
                  { label: 'Message', cell: (e) => e.message },
                ]}
              />
            </Card>
          </Page>
        );
      }}
    </Loading>
  );
}

function NodeSettings({ node }: { node: NodeDetail }): JSX.Element {
  const [profile, setProfile] = useState<string>(node.profile);
  const profileAction = useAction();
  const toggle = useAction();
  const unlink = useAction();
  const [confirming, setConfirming] = useState(false);
  const [tokenMode, setTokenMode] = useState<'leave' | 'expire-24h'>('leave');
  const [unlinked, setUnlinked] = useState<string | null>(null);
  const path = { params: { path: { alias: node.alias } } };
  return (
    <div class="grid-2">
      <Card title="Profile" id="node-profile">
        <Form action={profileAction} label="Change the profile" fields={['profile']} submit="Save profile" onSubmit={() => void profileAction.run(async () => void (await call(api.PUT('/api/nodes/{alias}/profile', { ...path, body: { profile } }))))}>
          <SelectField name="profile" label="Profile" value={profile} onValue={setProfile} options={PROFILES.map((p) => ({ value: p, label: p }))} />
        </Form>
      </Card>
      <Card title="Availability" id="node-availability">
        <p>{node.status === 'disabled' ? 'The node is disabled: nothing is placed on it and it is not synchronised.' : 'The node takes part in the cluster.'}</p>
        <div class="form-actions">
          <button type="button" disabled={toggle.busy} onClick={() => void toggle.run(async () => void (await call(api.PUT('/api/nodes/{alias}/enabled', { ...path, body: { enabled: node.status === 'disabled' } }))))}>
            {node.status === 'disabled' ? 'Enable node' : 'Disable node'}
          </button>
          <button type="button" class="danger" onClick={() => (unlink.clear(), setConfirming(true))}>
            Unlink node…
          </button>
        </div>
        <Refusal refusal={toggle.refusal} />
        {unlinked && (
          <p class="notice" role="status">
            Unlinked. The agent's new link token: <code>{unlinked}</code>
          </p>
        )}
      </Card>
      <Confirm
        open={confirming}
        title={`Unlink ${node.alias}?`}
        confirm="Unlink"
        danger
        busy={unlink.busy}
        onCancel={() => setConfirming(false)}
        onConfirm={() =>
          void unlink.run(async () => {
            const answer = (await call(api.POST('/api/nodes/{alias}/unlink', { ...path, body: { token: tokenMode } }))) as { token?: string } | undefined;
            setUnlinked(answer?.token ?? '');
            setConfirming(false);
          })
        }
      >
        <p>The parent forgets the node and its certificate. A node that still holds accounts is refused: move them first.</p>
        <label class="check">
          <input type="checkbox" checked={tokenMode === 'expire-24h'} onChange={(event) => setTokenMode(event.currentTarget.checked ? 'expire-24h' : 'leave')} />
          Let the node's new link token expire after 24 hours
        </label>
        <Refusal refusal={unlink.refusal} />
      </Confirm>
    </div>
  );
}
