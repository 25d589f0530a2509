/**
 * A job as it runs: its steps and events arrive over the parent's event stream, so a move or a
 * cleanup is watched without reloading. The stream ends when the job settles.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { follow } from '../api/live.ts';
import type { JobDetail } from '../api/types.ts';
import { Badge, Table, when } from './ui.tsx';

export type { JobDetail };

/** `restart` follows the job again (after a retry, a settled job's stream has ended). */
export function useLiveJob(id: number | null, initial: JobDetail | null = null, restart = 0): JobDetail | null {
  const [job, setJob] = useState<JobDetail | null>(initial);
  useEffect(() => {
    if (id === null) return;
    return follow(`/api/jobs/${id}/stream`, (message) => {
      if (message.event === 'job') setJob(message.data as JobDetail);
    });
  }, [id, restart]);
  return job;
}

export function JobSteps({ job }: { job: JobDetail }): JSX.Element {
  return (
    <div class="job-live" aria-live="polite" data-job-state={job.state}>
      <p>
        Job <a href={`#/jobs/${job.id}`}>#{job.id}</a> ({job.type} of {job.key}): <Badge value={job.state} />
        {job.currentStep && job.state === 'running' && <> at step <strong>{job.currentStep}</strong></>}
      </p>
      {job.error && <p class="refusal">{job.error}</p>}
      <ol class="steps">
        {job.steps.map((step) => (
          <li key={step.position} class={`step step-${step.state}`} data-step={step.name} data-state={step.state}>
            <span class="step-dot" aria-hidden="true" />
            <span class="step-name">{step.name}</span>
            <Badge value={step.state} />
            {step.error && <small class="field-error">{step.error}</small>}
          </li>
        ))}
      </ol>
    </div>
  );
}

export function JobEvents({ job }: { job: JobDetail }): JSX.Element {
  return (
    <Table
      caption="Job events"
      rows={[...job.events].reverse()}
      rowKey={(e) => e.id}
      empty="No events yet."
      columns={[
        { label: 'When', cell: (e) => when(e.at) },
        { label: 'Step', cell: (e) => e.step ?? '—', secondary: true },
        { label: 'Kind', cell: (e) => e.kind, secondary: true },
        { label: 'Message', cell: (e) => e.message },
      ]}
    />
  );
}
