/**
 * The contract between accounts and the services that run an account's workloads (mail, web,
 * DNS). Accounts decide where each workload lives and when it changes; a workload service turns
 * that into state on the node's agent. The registry lives in the parent context so the workload
 * domains register themselves at start-up without accounts importing them.
 */
import type { NodeRow } from '../nodes/nodes.repository.ts';
import { WORKLOADS, type AccountRecord, type Workload } from './account.model.ts';

export interface WorkloadService {
  readonly workload: Workload;
  /** Creates the account's part on the node. Must be idempotent: it is retried after failures. */
  provision(account: AccountRecord, node: NodeRow): Promise<void>;
  /** Turns the suspension on or off (refused logins, suspension page). Idempotent. */
  suspend(account: AccountRecord, node: NodeRow, suspended: boolean): Promise<void>;
  /** Removes the account's data from the node. Idempotent: removing what is gone succeeds. */
  deprovision(account: AccountRecord, node: NodeRow): Promise<void>;
  /** Re-applies settings after `account modify` (plan quotas, IPv6). Optional for workloads that use neither. */
  update?(account: AccountRecord, node: NodeRow): Promise<void>;
}

export class WorkloadRegistry {
  private readonly services = new Map<Workload, WorkloadService>();

  register(service: WorkloadService): void {
    if (!(WORKLOADS as readonly string[]).includes(service.workload)) throw new Error(`'${service.workload}' is not a workload (${WORKLOADS.join(', ')})`);
    // Two services for one workload would each believe they own the node's state.
    if (this.services.has(service.workload)) throw new Error(`a ${service.workload} workload service is registered twice`);
    this.services.set(service.workload, service);
  }

  /** Puts a service in place of the registered one: tests swap the real services for recording fakes. */
  replace(service: WorkloadService): void {
    this.services.delete(service.workload);
    this.register(service);
  }

  get(workload: Workload): WorkloadService | undefined {
    return this.services.get(workload);
  }

  /** mail, web, dns: the order they are changed in one by one (suspension); undone in reverse, DNS first. */
  registered(): WorkloadService[] {
    return WORKLOADS.flatMap((w) => this.services.get(w) ?? []);
  }
}
