/**
 * The web state this agent's node serves, as the parent last sent it (whole, or as a change
 * against its digest: protocol/keyed-state.ts). Beyond the generic rules, a change must leave
 * every host name served once, which is checked against the whole state in memory.
 */
import { AppliedState, type StateStep } from '../protocol/keyed-state.ts';
import { WEB_STATE_SHAPE, checkHostNamesServedOnce, siteHostNames, type WebStateChange, type WebStateRequest } from '../protocol/web-state.ts';

/** The state a request leads to; a change's step names what it puts, removes and replaces. */
export type WebStateStep = StateStep<WebStateRequest>;

export class AppliedWebState {
  private readonly applied = new AppliedState(WEB_STATE_SHAPE);

  whole(state: WebStateRequest): WebStateStep {
    return this.applied.whole(state);
  }

  /** Throws ConflictError when the node's state is not the change's base: the parent then sends the whole state. */
  change(change: WebStateChange): WebStateStep {
    const step = this.applied.change(change, 'web state');
    checkHostNamesServedOnce(hostsAfter(change, step.state));
    return step;
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
