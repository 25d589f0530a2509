/**
 * At the parent: the web state a node last acknowledged, item by item (protocol/state-digest.ts),
 * so the next push sends what differs from it as a change against its digest instead of the
 * node's whole state.
 */
import { StateDigest } from '../protocol/state-digest.ts';
import { webProxyItem, webSiteItem, type WebStateChange, type WebStateRequest } from '../protocol/web-state.ts';

export class KnownWebState {
  private constructor(
    private readonly sites: ReadonlyMap<string, string>,
    private readonly proxies: ReadonlyMap<string, string>,
    readonly digest: string,
  ) {}

  /** A whole state the node acknowledged with `digest`; undefined when that is not the digest of this state (then nothing is known). */
  static acknowledged(state: WebStateRequest, digest: string): KnownWebState | undefined {
    const { sites, proxies } = itemsOf(state);
    const ours = StateDigest.of([...sites.values(), ...proxies.values()]).hex();
    return ours === digest ? new KnownWebState(sites, proxies, digest) : undefined;
  }

  /** What `state` changes against this one: undefined when nothing. */
  changeTo(state: WebStateRequest): WebStateChange | undefined {
    const { sites, proxies } = itemsOf(state);
    const change: WebStateChange = {
      base: this.digest,
      sites: state.sites.filter((site) => this.sites.get(site.domain) !== sites.get(site.domain)),
      removedSites: [...this.sites.keys()].filter((domain) => !sites.has(domain)),
      proxies: state.proxies.filter((proxy) => this.proxies.get(proxy.domain) !== proxies.get(proxy.domain)),
      removedProxies: [...this.proxies.keys()].filter((domain) => !proxies.has(domain)),
    };
    const empty = change.sites.length + change.removedSites.length + change.proxies.length + change.removedProxies.length === 0;
    return empty ? undefined : change;
  }

  /**
   * The state after `change` (computed by changeTo for `state`), once the node acknowledged it with
   * `digest`; undefined when the node's digest is not the one expected (then nothing is known).
   */
  after(change: WebStateChange, state: WebStateRequest, digest: string): KnownWebState | undefined {
    const { sites, proxies } = itemsOf(state);
    const expected = new StateDigest(this.digest);
    for (const domain of new Set([...change.removedSites, ...change.sites.map((site) => site.domain)])) expected.replace(this.sites.get(domain), sites.get(domain));
    for (const domain of new Set([...change.removedProxies, ...change.proxies.map((proxy) => proxy.domain)])) expected.replace(this.proxies.get(domain), proxies.get(domain));
    return expected.hex() === digest ? new KnownWebState(sites, proxies, digest) : undefined;
  }
}

function itemsOf(state: WebStateRequest): { sites: Map<string, string>; proxies: Map<string, string> } {
  return {
    sites: new Map(state.sites.map((site) => [site.domain, webSiteItem(site)])),
    proxies: new Map(state.proxies.map((proxy) => [proxy.domain, webProxyItem(proxy)])),
  };
}
