/**
 * The admin's hands on a node's daemons, reached through the parent: list them with their
 * watchdog state, and stop, start or restart one. A stop holds until a start, across agent
 * restarts too (the watchdog does not bring back what the admin stopped).
 */
import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { NotFoundError } from '../core/errors.ts';
import type { DaemonDriver } from './driver.ts';
import type { ServiceReport, Watchdog } from './watchdog.ts';

const ACTIONS = ['start', 'stop', 'restart'] as const;

export async function serviceReports(daemons: ReadonlyMap<string, DaemonDriver>, watchdog: Watchdog): Promise<ServiceReport[]> {
  const reports: ServiceReport[] = [];
  for (const daemon of daemons.values()) reports.push(watchdog.report(daemon, await daemon.status()));
  return reports;
}

export function registerServiceRoutes(app: HttpApp, daemons: ReadonlyMap<string, DaemonDriver>, watchdog: Watchdog): void {
  app.get('/v1/services', async () => ({ services: await serviceReports(daemons, watchdog) }));

  app.post(
    '/v1/services/:name/:action',
    { schema: { params: Type.Object({ name: Type.String({ pattern: '^[a-z][a-z0-9-]{0,30}$' }), action: Type.Union(ACTIONS.map((a) => Type.Literal(a))) }) } },
    async (request) => {
      const { name, action } = request.params;
      const daemon = daemons.get(name);
      if (!daemon) throw new NotFoundError('service', name);
      if (action === 'stop') await watchdog.stopService(daemon);
      else await watchdog.startService(daemon, action === 'restart');
      return watchdog.report(daemon, await daemon.status());
    },
  );
}
