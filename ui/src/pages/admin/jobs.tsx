/** Jobs: the journal, and one job with its steps and events live, with cancel (undo) and retry. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, call } from '../../api/client.ts';
import { useAction } from '../../components/form.tsx';
import { JobEvents, JobSteps, useLiveJob } from '../../components/live-job.tsx';
import { Badge, Card, Loading, Page, Refusal, Table, useLoad, when } from '../../components/ui.tsx';
import { href } from '../../router.ts';

export function JobsPage(): JSX.Element {
  const state = useLoad(() => call(api.GET('/api/jobs', { params: { query: { limit: 100 } } })), []);
  return (
    <Page title="Jobs">
      <Card title="Latest jobs">
        <Loading state={state}>
          {({ jobs }) => (
            <Table
              caption="Jobs, newest first"
              rows={jobs}
              rowKey={(j) => j.id}
              empty="No jobs yet."
              columns={[
                { label: 'Job', cell: (j) => <a href={href('jobs', j.id)}>#{j.id}</a> },
                { label: 'Type', cell: (j) => j.type },
                { label: 'Of', cell: (j) => j.key, secondary: true },
                { label: 'State', cell: (j) => <Badge value={j.state} /> },
                { label: 'Step', cell: (j) => j.currentStep ?? '—', secondary: true },
                { label: 'Updated', cell: (j) => when(j.updatedAt), secondary: true },
              ]}
            />
          )}
        </Loading>
      </Card>
    </Page>
  );
}

export function JobPage({ id }: { id: number }): JSX.Element {
  const first = useLoad(() => call(api.GET('/api/jobs/{id}', { params: { path: { id } } })), [id]);
  const [restart, setRestart] = useState(0);
  const live = useLiveJob(first.data ? id : null, first.data, restart);
  const action = useAction();
  const path = { params: { path: { id } } };
  return (
    <Loading state={first}>
      {() => {
        const job = live ?? first.data!;
        return (
          <Page title={`Job #${job.id}`} actions={<a href={href('jobs')}>All jobs</a>}>
            <div class="grid-2">
              <Card title="Steps" id="job-steps">
                <JobSteps job={job} />
                <div class="form-actions start">
                  {['queued', 'running', 'held', 'failed'].includes(job.state) && (
                    <button type="button" class="danger" disabled={action.busy} onClick={() => void action.run(async () => (await call(api.POST('/api/jobs/{id}/cancel', path)), setRestart((n) => n + 1)))}>
                      Cancel and undo
                    </button>
                  )}
                  {['held', 'failed'].includes(job.state) && (
                    <button type="button" disabled={action.busy} onClick={() => void action.run(async () => (await call(api.POST('/api/jobs/{id}/retry', path)), setRestart((n) => n + 1)))}>
                      Retry
                    </button>
                  )}
                </div>
                <Refusal refusal={action.refusal} />
              </Card>
              <Card title="Job" id="job-facts">
                <dl class="facts">
                  <dt>Type</dt>
                  <dd>{job.type}</dd>
                  <dt>Of</dt>
                  <dd>{job.key}</dd>
                  <dt>State</dt>
                  <dd>
                    <Badge value={job.state} />
                    {job.state === 'abandoned' && <span class="hint"> given up without undo (its node is gone)</span>}
                  </dd>
                  <dt>Started by</dt>
                  <dd>{job.createdBy ?? '—'}</dd>
                  <dt>Created</dt>
                  <dd>{when(job.createdAt)}</dd>
                  <dt>Finished</dt>
                  <dd>{when(job.finishedAt)}</dd>
                  <dt>Attempts</dt>
                  <dd>{job.attempts}</dd>
                </dl>
              </Card>
            </div>
            <Card title="Events" id="job-events">
              <JobEvents job={job} />
            </Card>
          </Page>
        );
      }}
    </Loading>
  );
}
