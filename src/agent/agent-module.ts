/**
 * A workload or system-data area plugs into the agent as a module: it contributes HTTP routes
 * (reached only by the parent, through mTLS) and the daemon instances its role needs.
 */
import type { HttpApp } from '../transport/http-app.ts';
import type { DaemonDriver, DriverContext } from './driver.ts';
import type { Role } from '../protocol/roles.ts';

export interface AgentContext extends DriverContext {
  /** The roles the parent assigned to this node, read fresh on every call. */
  roles(): Role[];
  /** Finds a running module's daemon by name (e.g. the sysdata module reloads postfix). */
  daemon<T extends DaemonDriver>(name: string): T | undefined;
  /** Every daemon running on the node now. */
  daemons(): DaemonDriver[];
}

export interface AgentModule {
  readonly name: string;
  /** The role this module serves; a module without a role (system data) runs on every node. */
  readonly role?: Role;
  /** The daemon instances the module runs while its role is assigned (they may depend on the other roles). */
  daemons?(ctx: AgentContext): DaemonDriver[];
  /** Routes under /v1/<name>/… */
  register(app: HttpApp, ctx: AgentContext): void;
}

/**
 * A context for building a stopped agent's daemons only to stop them by their PID files (test
 * and demo teardown): no daemon is running, and no role is assumed, so every daemon a module
 * could contribute is listed.
 */
export function teardownContext(driver: DriverContext): AgentContext {
  return { ...driver, roles: () => [], daemon: () => undefined, daemons: () => [] };
}
