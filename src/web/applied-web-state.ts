/**
 * The web state this agent's node serves, as the parent last sent it (whole, or as a change
 * against its digest: protocol/keyed-state.ts). Beyond the generic rules, a change must leave
 * every host name served once, which is checked against the whole state in memory.
 */
import { AppliedState } from '../protocol/keyed-state.ts';
import { WEB_STATE_SHAPE, checkHostNamesServedOnce, siteHostNames, type WebProxy, type WebSiteRequest, type WebStateChange, type WebStateRequest } from '../protocol/web-state.ts';

/** What one change puts and removes, with the accounts of the sites it replaces or removes (their pools may have to go). */
export interface TouchedWebState {
  sites: WebSiteRequest[];
  proxies: WebProxy[];
  removedSites: string[];
  removedProxies: string[];
  formerAccounts: string[];
}

/** The state a request leads to: `done()` makes it the known state once the node serves it and returns its digest. */
export interface WebStateStep {
  state: WebStateRequest;
  /** absent for a whole state: every server file is compared */
  touched?: TouchedWebState;
  done(): string;
}

export class AppliedWebState {
  private readonly applied = new AppliedState(WEB_STATE_SHAPE);

  whole(state: WebStateRequest): WebStateStep {
    return this.applied.whole(state);
  }

  /** Throws ConflictError when the node's state is not the change's base: the parent then sends the whole state. */
  change(change: WebStateChange): WebStateStep {
    const step = this.applied.change(change, 'web state');
    checkHostNamesServedOnce(hostsAfter(change, step.state));
    return {
      state: step.state,
      touched: {
        sites: change.sites.put,
        proxies: change.proxies.put,
        removedSites: change.sites.removed,
        removedProxies: change.proxies.removed,
        formerAccounts: [...new Set(step.replaced.sites.map((site) => site.account))],
      },
      done: step.done,
    };
  }

  forget(): void {
    this.applied.forget();
  }
}

/**
 * Every host name of the state after `change`, the items it did not put first: a name taken twice
 * is then reported at the change's own field (`sites.put[0].domain`), which is what is new.
 */
function* hostsAfter(change: WebStateChange, state: WebStateRequest): Generator<readonly [string, string]> {
  const putSites = new Set(change.sites.put.map((site) => site.domain));
  const putProxies = new Set(change.proxies.put.map((proxy) => proxy.domain));
  for (const site of state.sites) if (!putSites.has(site.domain)) for (const host of siteHostNames(site)) yield [host, `the site ${site.domain}`];
  for (const proxy of state.proxies) if (!putProxies.has(proxy.domain)) yield [proxy.domain, `the proxy ${proxy.domain}`];
  for (const [index, site] of change.sites.put.entries()) for (const host of siteHostNames(site)) yield [host, `sites.put[${index}].domain`];
  for (const [index, proxy] of change.proxies.put.entries()) yield [proxy.domain, `proxies.put[${index}].domain`];
}
