/**
 * The web workload at the parent: a node's whole web state (the sites of every account placed on
 * it, plus the host names other services want proxied through it) is computed from the store at
 * each push, so the node never drifts by missing one change. What goes over the wire is what
 * differs from the state the node last acknowledged, as a change against that state's digest
 * (protocol/keyed-state.ts); the whole state goes to a node whose state is not known (the first
 * push after the parent starts, a push that failed, a joining or returning node, an agent that
 * restarted and refuses the change). Changes that reach one node while a push to it is under way
 * go out together as the next push (BatchByKey): one nginx check and reload for all of them.
 */
import { ValidationError } from '../core/errors.ts';
import { assertValid, checkUsername } from '../core/grammar.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { WorkloadService } from '../accounts/workload.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import { takesPushes } from '../nodes/node.model.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import type { SiteRow, WebRepository } from './web.repository.ts';
import { WEB_STATE_SHAPE, type WebProxy, type WebStateApplied, type WebStateChange, type WebStateRequest as WireWebState } from '../protocol/web-state.ts';
import { StatePushes } from '../protocol/keyed-state.ts';
import { BatchByKey } from '../core/batch-by-key.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';

/** A site as the parent sends it: its row, and the node it is forwarded to while it moves. */
export type SiteState = SiteRow & { forwardTo?: string };

/** What the parent sends: the node decides the document roots itself. */
export interface WebStateRequest {
  sites: SiteState[];
  proxies: WebProxy[];
}

/** Host names another service wants this node's nginx to forward (e.g. webmail.<domain> to a mail child). */
export type WebProxyProvider = (node: NodeRow) => Promise<WebProxy[]>;
/**
 * Sites of this node that another node serves meanwhile (an account transfer, until the site is
 * removed here): `domain` is the site's, `upstream` the node its requests go to.
 */
export type SiteForwardProvider = (node: NodeRow) => Promise<WebProxy[]>;

export interface WebAgents {
  putState(node: NodeRow, state: WireWebState): Promise<WebStateApplied>;
  /** Refused with a ConflictError when the node's state is not `change.base`. */
  changeState(node: NodeRow, change: WebStateChange): Promise<WebStateApplied>;
  removeAccountData(node: NodeRow, account: string): Promise<void>;
}

export function webAgentsOver(connections: NodeConnections): WebAgents {
  return {
    putState: (node, state) => connections.forRow(node).send(AGENT_ROUTES.webState, { body: state }),
    changeState: (node, change) => connections.forRow(node).send(AGENT_ROUTES.webStateChange, { body: change }),
    async removeAccountData(node, account) {
      await connections.forRow(node).send(AGENT_ROUTES.removeWebAccount, { params: { account } });
    },
  };
}

/** How one account's site differs from the store while a change is under way (the store is written after the node accepted). */
type SiteOverride = { account: string; site: SiteRow | null };

export const WEB_SYNC_PRIORITY = 50;

export class WebService implements WorkloadService {
  readonly workload = 'web' as const;
  private readonly proxyProviders = new Map<string, WebProxyProvider>();
  private readonly forwardProviders = new Map<string, SiteForwardProvider>();
  /** Pushes to one node never overtake each other; the changes waiting for one go out as one. */
  private readonly perNode = new BatchByKey<{ node: NodeRow; override?: SiteOverride }, void>(async (key, requests) => {
    const node = requests.at(-1)!.node;
    const state = await this.desiredState(node, requests.flatMap((request) => (request.override ? [request.override] : [])));
    const proxies = this.proxiesByNode.get(key) ?? {};
    this.proxiesByNode.set(key, proxies);
    proxies.applying = JSON.stringify(state.proxies);
    try {
      await this.pushes.push(key, state, { whole: (whole) => this.agents.putState(node, whole), change: (change) => this.agents.changeState(node, change) });
      proxies.acked = proxies.applying;
    } catch (error) {
      // A refused state is put back on the node, but what it serves is no longer known for sure.
      delete proxies.acked;
      throw error;
    } finally {
      delete proxies.applying;
    }
  });
  /** Per node: the proxies of the last state it acknowledged, and of the state being pushed to it now (ensureProxies). */
  private readonly proxiesByNode = new Map<string, { acked?: string; applying?: string }>();
  /** What each node acknowledged: a push sends what differs from it. */
  private readonly pushes = new StatePushes<WireWebState, WebStateApplied>(WEB_STATE_SHAPE);

  constructor(
    private readonly repo: Pick<WebRepository, 'sitesOnNode' | 'httpsRedirect' | 'setHttpsRedirect'>,
    private readonly agents: WebAgents,
  ) {}

  /**
   * Other services add host names to proxy; call `pushNode` after the provider's answer changes.
   * One provider per name, so a service that attaches twice is caught at start-up.
   */
  addProxyProvider(name: string, provider: WebProxyProvider): void {
    if (this.proxyProviders.has(name)) throw new Error(`web proxy provider '${name}' is registered twice`);
    this.proxyProviders.set(name, provider);
  }

  /** Sites to forward to another node; call `pushNode` after the provider's answer changes. One provider per name. */
  addSiteForwardProvider(name: string, provider: SiteForwardProvider): void {
    if (this.forwardProviders.has(name)) throw new Error(`site forward provider '${name}' is registered twice`);
    this.forwardProviders.set(name, provider);
  }

  /** The state the node should serve, from the store, with these accounts' sites replaced or removed (in order). */
  async desiredState(node: NodeRow, overrides: readonly SiteOverride[] = []): Promise<WebStateRequest> {
    let sites = await this.repo.sitesOnNode(node.id);
    for (const override of overrides) {
      sites = sites.filter((site) => site.account !== override.account);
      if (override.site) sites.push(override.site);
    }
    if (overrides.length > 0) sites.sort((a, b) => a.domain.localeCompare(b.domain));
    const forwards = new Map<string, string>();
    for (const provide of this.forwardProviders.values()) for (const forward of await provide(node)) forwards.set(forward.domain, forward.upstream);
    // A forward follows its site: a site removed here (its override is null) takes its forward along.
    const served: SiteState[] = sites.map((site) => (forwards.has(site.domain) ? { ...site, forwardTo: forwards.get(site.domain)! } : site));
    const proxies: WebProxy[] = [];
    for (const provide of this.proxyProviders.values()) proxies.push(...(await provide(node)));
    const siteHosts = new Set(sites.flatMap((site) => [site.domain, `www.${site.domain}`]));
    // A proxy for a name a site serves would make nginx refuse the whole file; the site wins.
    return { sites: served, proxies: proxies.filter((proxy) => !siteHosts.has(proxy.domain)) };
  }

  /**
   * Pushes the node's whole web state, in one batch with the other changes waiting for the same
   * node; resolves once the node applied that batch. Used by the workload hooks, the data-sync
   * step and proxy providers.
   */
  pushNode(node: NodeRow, override?: SiteOverride): Promise<void> {
    if (!takesPushes(node.status)) return Promise.resolve();
    return this.perNode.run(String(node.id), override ? { node, override } : { node }, override?.account);
  }

  /**
   * For a proxy provider whose answer may have changed: pushes the node unless the proxies it
   * would get are the ones it acknowledged last and the ones of the push under way, if any (a
   * later push reads the store afresh anyway). Its sites are not compared, each site change
   * pushes on its own; so a provider that did not change its answer does not wait for the node's
   * next batch of site changes, which it would otherwise join.
   */
  async ensureProxies(node: NodeRow): Promise<void> {
    if (!takesPushes(node.status)) return;
    const wanted = JSON.stringify((await this.desiredState(node)).proxies);
    const known = this.proxiesByNode.get(String(node.id));
    if (known?.acked === wanted && (known.applying === undefined || known.applying === wanted)) return;
    await this.pushNode(node);
  }

  /** The data-sync step: a node that joins or returns gets the web state it missed. */
  async syncNode(node: NodeRow): Promise<void> {
    if (!node.roles.includes('web')) return;
    // A node that comes back may have lost or missed anything: it gets its whole state.
    this.pushes.forget(String(node.id));
    await this.pushNode(node);
  }

  /** The account's site as the store says it should serve (its options included). */
  private async siteOf(account: AccountRecord): Promise<SiteRow> {
    return siteOf(account, await this.repo.httpsRedirect(account.id));
  }

  async provision(account: AccountRecord, node: NodeRow): Promise<void> {
    return this.pushNode(node, { account: account.username, site: await this.siteOf(account) });
  }

  async suspend(account: AccountRecord, node: NodeRow, suspended: boolean): Promise<void> {
    return this.pushNode(node, { account: account.username, site: { ...(await this.siteOf(account)), suspended } });
  }

  async update(account: AccountRecord, node: NodeRow): Promise<void> {
    return this.pushNode(node, { account: account.username, site: await this.siteOf(account) });
  }

  async httpsRedirect(account: AccountRecord): Promise<boolean> {
    return this.repo.httpsRedirect(account.id);
  }

  /** Turns the site's HTTP-to-HTTPS redirect on or off: the node's nginx first, the store once it took it. */
  async setHttpsRedirect(account: AccountRecord, node: NodeRow, enabled: boolean, now: number): Promise<void> {
    await this.pushNode(node, { account: account.username, site: siteOf(account, enabled) });
    await this.repo.setHttpsRedirect(account.id, enabled, now);
  }

  /** The vhost goes first, so nginx never serves a document root that is being removed. */
  async deprovision(account: AccountRecord, node: NodeRow): Promise<void> {
    const username = assertValid('account', account.username, checkUsername);
    await this.pushNode(node, { account: username, site: null });
    await this.agents.removeAccountData(node, username);
  }
}

function siteOf(account: AccountRecord, httpsRedirect: boolean): SiteRow {
  if (!account.domain) throw new ValidationError('domain', 'the account has no main domain');
  return { account: account.username, domain: account.domain, suspended: account.suspended, httpsRedirect };
}
