/**
 * The set-up the batch tests of the web workload share: the parent's WebService (its real
 * batching) in front of a real nginx on `address`, the node's half done in-process as the agent
 * does it (its known state, document roots, then the nginx driver), and a store that is just the rows the test
 * keeps. Built in the constructor and started by start(), so that close() in an after hook can
 * clean up whatever a failed start left.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killInstance } from '../../src/agent/daemon-process.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { NginxDriver, type WebApplyResult } from '../../src/web/nginx.driver.ts';
import { WebService } from '../../src/web/web.service.ts';
import type { SiteRow } from '../../src/web/web.repository.ts';
import type { NodeRow } from '../../src/nodes/nodes.repository.ts';
import type { AccountRecord } from '../../src/accounts/account.model.ts';
import { probe } from './http-probe.ts';
import { AppliedWebState, type WebStateStep } from '../../src/web/applied-web-state.ts';
import type { WebSiteRequest, WebStateRequest } from '../../src/protocol/web-state.ts';
import { stateRequestLine } from '../../src/protocol/keyed-state.ts';

const node = { id: 1, alias: 'web1', roles: ['web'] } as NodeRow;
const account = (username: string): AccountRecord => ({ username, domain: `${username}.test`, suspended: false }) as AccountRecord;

export class WebBatchFixture {
  readonly workDir: string;
  readonly nginx: NginxDriver;
  /** The store: what sitesOnNode answers. */
  readonly stored: SiteRow[] = [];
  /** Every state the service pushed to the node (whole, or what a change led to), in order: one a batch. */
  readonly pushes: WebStateRequest[] = [];
  readonly web: WebService;

  /** `tmpPrefix` names the temporary folder, so a run's leftovers say which test they are from. */
  constructor(
    readonly address: string,
    tmpPrefix: string,
  ) {
    this.workDir = mkdtempSync(join(tmpdir(), tmpPrefix));
    // nginx's workers read the document roots below it.
    chmodSync(this.workDir, 0o755);
    this.nginx = new NginxDriver({ layout: new NodeLayout(join(this.workDir, 'node')), address, log: () => undefined });
    // The agent's half: it keeps the state it serves and takes a change against it, or a whole state.
    const applied = new AppliedWebState();
    const place = (sites: WebSiteRequest[]) => sites.map((site) => ({ ...site, documentRoot: this.nginx.ensureDocumentRoot(site.account, site.domain) }));
    const requests = stateRequestLine(() => applied.forget());
    const serve = async (step: WebStateStep): Promise<WebApplyResult> => {
      this.pushes.push(step.state);
      const { change } = step;
      const prepared = change
        ? await this.nginx.prepareChange({ sites: place(change.sites.put), proxies: change.proxies.put }, { sites: change.sites.removed, proxies: change.proxies.removed })
        : await this.nginx.prepare({ sites: place(step.state.sites), proxies: step.state.proxies });
      return prepared.commit();
    };
    this.web = new WebService(
      { sitesOnNode: async () => this.stored.map((site) => ({ ...site })), httpsRedirect: async () => false, setHttpsRedirect: async () => undefined },
      {
        putState: (_node, state) => requests(() => applied.whole(state), serve),
        changeState: (_node, change) => requests(() => applied.change(change), serve),
        async removeAccountData() {},
      },
    );
  }

  start(): Promise<void> {
    return this.nginx.start();
  }

  /**
   * Stops nginx, then kills `leftoverPid` (a master the test stopped or that the driver no longer
   * knows of) with its process group, then removes the folder.
   */
  async close(leftoverPid?: number): Promise<void> {
    await this.nginx.stop();
    await killInstance(leftoverPid);
    rmSync(this.workDir, { recursive: true, force: true });
  }

  /** As the accounts service does: the row first, then the workload's push. */
  create = (username: string): Promise<void> => {
    this.stored.push({ account: username, domain: `${username}.test`, suspended: false, httpsRedirect: false });
    return this.web.provision(account(username), node);
  };

  /** Whether nginx serves `domain` its own page. */
  served = async (domain: string): Promise<boolean> => {
    const answer = await probe(this.address, domain);
    return answer.kind === 'response' && answer.body.includes(`<h1>${domain}</h1>`);
  };
}
