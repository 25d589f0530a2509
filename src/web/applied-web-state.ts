/**
 * The web state this agent's node serves, as the parent last sent it (whole, or as changes) and
 * its digest (protocol/state-digest.ts). A change applies only to the state it was computed
 * against: an agent that restarted knows no state and takes the next whole one, so a change never
 * lands on a state the parent did not mean.
 */
import { ConflictError } from '../core/errors.ts';
import { StateDigest } from '../protocol/state-digest.ts';
import {
  checkHostNamesServedOnce,
  siteHostNames,
  webProxyItem,
  webSiteItem,
  type WebProxy,
  type WebSiteRequest,
  type WebStateChange,
  type WebStateRequest,
} from '../protocol/web-state.ts';

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
  private sites = new Map<string, WebSiteRequest>();
  private proxies = new Map<string, WebProxy>();
  /** Unknown until the node took a whole state from this agent process. */
  private digest: StateDigest | undefined;

  whole(state: WebStateRequest): WebStateStep {
    return {
      state,
      done: () => {
        const digest = StateDigest.of([...state.sites.map(webSiteItem), ...state.proxies.map(webProxyItem)]);
        return this.become(new Map(state.sites.map((site) => [site.domain, site])), new Map(state.proxies.map((proxy) => [proxy.domain, proxy])), digest);
      },
    };
  }

  /** Throws ConflictError when the node's state is not the change's base: the parent then sends the whole state. */
  change(change: WebStateChange): WebStateStep {
    if (this.digest?.hex() !== change.base) {
      throw new ConflictError(`the web state changed since ${change.base.slice(0, 12)}: this node holds ${this.digest ? this.digest.hex().slice(0, 12) : 'no known state'}; send the whole state`);
    }
    const sites = new Map(this.sites);
    const proxies = new Map(this.proxies);
    const digest = this.digest.copy();
    const formerAccounts = new Set<string>();
    const drop = (domain: string): void => {
      const site = sites.get(domain);
      if (!site) return;
      digest.replace(webSiteItem(site), undefined);
      formerAccounts.add(site.account);
      sites.delete(domain);
    };
    for (const domain of change.removedSites) drop(domain);
    for (const domain of change.removedProxies) {
      const proxy = proxies.get(domain);
      if (proxy) digest.replace(webProxyItem(proxy), undefined);
      proxies.delete(domain);
    }
    for (const site of change.sites) {
      drop(site.domain);
      digest.replace(undefined, webSiteItem(site));
      sites.set(site.domain, site);
    }
    for (const proxy of change.proxies) {
      digest.replace(proxies.has(proxy.domain) ? webProxyItem(proxies.get(proxy.domain)!) : undefined, webProxyItem(proxy));
      proxies.set(proxy.domain, proxy);
    }
    checkHostNamesServedOnce(this.hostsAfter(change, sites, proxies));
    return {
      state: { sites: [...sites.values()], proxies: [...proxies.values()] },
      touched: { sites: change.sites, proxies: change.proxies, removedSites: change.removedSites, removedProxies: change.removedProxies, formerAccounts: [...formerAccounts] },
      done: () => this.become(sites, proxies, digest),
    };
  }

  /**
   * Every host name of the state after `change`, the items it did not touch first: a name taken
   * twice is then reported at the change's own field (`sites[0].domain`), which is what is new.
   * A change that puts one domain twice is refused the same way.
   */
  private *hostsAfter(change: WebStateChange, sites: ReadonlyMap<string, WebSiteRequest>, proxies: ReadonlyMap<string, WebProxy>): Generator<readonly [string, string]> {
    const putSites = new Set(change.sites.map((site) => site.domain));
    const putProxies = new Set(change.proxies.map((proxy) => proxy.domain));
    for (const site of sites.values()) if (!putSites.has(site.domain)) for (const host of siteHostNames(site)) yield [host, `the site ${site.domain}`];
    for (const proxy of proxies.values()) if (!putProxies.has(proxy.domain)) yield [proxy.domain, `the proxy ${proxy.domain}`];
    for (const [index, site] of change.sites.entries()) for (const host of siteHostNames(site)) yield [host, `sites[${index}].domain`];
    for (const [index, proxy] of change.proxies.entries()) yield [proxy.domain, `proxies[${index}].domain`];
  }

  private become(sites: Map<string, WebSiteRequest>, proxies: Map<string, WebProxy>, digest: StateDigest): string {
    this.sites = sites;
    this.proxies = proxies;
    this.digest = digest;
    return digest.hex();
  }

  /** After a step that failed: what the node serves is no longer known for sure (files may be half-way), so the next state must be whole. */
  forget(): void {
    this.digest = undefined;
  }
}
