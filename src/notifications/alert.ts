/**
 * What the admin is told about, and when. Pure. Every problem has a key (the node, the service,
 * the job); a problem seen again while its alert is open is not sent again, and the recovery is
 * sent once when the problem is gone, so a flapping health check never floods the admin.
 */

export const ALERT_KINDS = ['service_failed', 'node_offline', 'job_failed', 'desync_stale', 'certificate_expiring', 'certificate_order_failing'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface Problem {
  subject: string;
  detail: string;
  /** fields a webhook receiver can route on (node, service, job, type, certificate) */
  labels?: Record<string, string>;
}

export interface AlertMessage {
  event: AlertKind;
  state: 'problem' | 'recovered';
  key: string;
  subject: string;
  detail: string;
  labels: Record<string, string>;
  at: string;
}

/** Sends on a change only: a new problem opens the alert, its end sends the recovery, the rest is silence. */
export function decide(open: boolean, problem: Problem | null): 'notify' | 'recover' | null {
  if (problem && !open) return 'notify';
  if (!problem && open) return 'recover';
  return null;
}

export function alertKey(kind: AlertKind, ...parts: (string | number)[]): string {
  return [kind, ...parts.map(String)].join(':');
}

export function message(kind: AlertKind, key: string, state: 'problem' | 'recovered', subject: string, detail: string, labels: Record<string, string>, at: Date): AlertMessage {
  return { event: kind, state, key, subject: state === 'recovered' ? `RECOVERED: ${subject}` : subject, detail, labels, at: at.toISOString() };
}

/** The mail a human reads: the subject line, what happened, and the key to find it again. */
export function emailText(alert: AlertMessage, parentName: string): { subject: string; text: string } {
  const labels = Object.entries(alert.labels).map(([k, v]) => `${k}: ${v}`);
  return {
    subject: `[fleetpanel ${parentName}] ${alert.subject}`,
    text: [alert.detail, '', ...labels, `event: ${alert.event} (${alert.state})`, `at: ${alert.at}`, `key: ${alert.key}`, ''].join('\n'),
  };
}
