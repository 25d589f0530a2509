/**
 * The mail whitelist and blacklist of one node, as the two Postfix access maps that the mail
 * driver's main.cf always references:
 *   fleet-sender-access       (texthash, check_sender_access): `key OK|REJECT reason`
 *   fleet-client-access.cidr  (cidr, check_client_access):     `network OK|REJECT reason`
 * Both lists share both files, each in its own section, so each type reads back on its own and
 * applying one list keeps the other list's section as it is on disk. The whitelist section comes
 * first: a cidr table answers with its first match, so a whitelisted host inside a blacklisted
 * network gets through.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { NodeLayout } from '../agent/node-layout.ts';
import { writeIfChanged } from '../core/files.ts';
import { sortById } from './digest.ts';
import { verifyApplied, type SystemDataDriver } from './driver.ts';
import { validateList, type AccessEntry } from '../protocol/sysdata-items.ts';

export type AccessList = 'whitelist' | 'blacklist';
type AccessKind = AccessEntry['kind'];

const ACCESS_LISTS: readonly AccessList[] = ['whitelist', 'blacklist'];
const ACTION: Record<AccessList, string> = {
  whitelist: 'OK',
  blacklist: 'REJECT Access denied by the mail administrator',
};
const SECTION_MARKER = '# section: ';
const ID_MARKER = '# fleetpanel-id: ';
/**
 * A texthash map may hold a key once (Postfix warns or stops on a duplicate), so a blacklisted
 * key that is also whitelisted is kept as this comment: the whitelist wins, and the entry still
 * reads back as part of the blacklist.
 */
const SHADOWED_MARKER = '# shadowed-by-whitelist: ';

export const SENDER_MAP_FILE = 'fleet-sender-access';
export const CLIENT_MAP_FILE = 'fleet-client-access.cidr';

export function accessMapPaths(layout: NodeLayout): Record<AccessKind, string> {
  return { sender: layout.etc('postfix', SENDER_MAP_FILE), network: layout.etc('postfix', CLIENT_MAP_FILE) };
}

/**
 * The lookup key Postfix matches. access(5) has no '@domain' form: a bare domain matches every
 * sender of that domain (and, with Postfix's default parent_domain_matches_subdomains, of its
 * subdomains), so '@example.com' is written as 'example.com'.
 */
function lookupKey(entry: AccessEntry): string {
  return entry.kind === 'sender' && entry.value.startsWith('@') ? entry.value.slice(1) : entry.value;
}

function valueFromKey(kind: AccessKind, key: string): string {
  return kind === 'sender' && !key.includes('@') ? `@${key}` : key;
}

export type AccessLists = Record<AccessList, AccessEntry[]>;

/** One map file's contents for both lists, restricted to entries of `kind`. Pure. */
export function renderAccessMap(kind: AccessKind, lists: AccessLists, nodeLabel: string): string {
  const format = kind === 'sender' ? 'texthash, check_sender_access' : 'cidr, check_client_access';
  const lines = [`# Fleetpanel ${kind} access map of node ${nodeLabel} (${format}). Written by the agent; hand edits are overwritten.`];
  const whitelistedKeys = new Set(lists.whitelist.filter((e) => e.kind === kind).map(lookupKey));
  for (const list of ACCESS_LISTS) {
    lines.push('', `${SECTION_MARKER}${list}`);
    for (const entry of sortById(lists[list].filter((e) => e.kind === kind))) {
      const line = `${lookupKey(entry)} ${ACTION[list]}`;
      const shadowed = kind === 'sender' && list === 'blacklist' && whitelistedKeys.has(lookupKey(entry));
      lines.push(`${ID_MARKER}${entry.id}`, shadowed ? `${SHADOWED_MARKER}${line}` : line);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Parses one map file back into both lists' entries of `kind`. Pure, exported for unit tests. */
export function parseAccessMap(kind: AccessKind, text: string, fileLabel: string): AccessLists {
  const lists: AccessLists = { whitelist: [], blacklist: [] };
  let section: AccessList | undefined;
  let pendingId: string | undefined;
  text.split('\n').forEach((rawLine, index) => {
    let line = rawLine.trim();
    if (line.startsWith(SECTION_MARKER)) {
      const name = line.slice(SECTION_MARKER.length).trim();
      section = (ACCESS_LISTS as readonly string[]).includes(name) ? (name as AccessList) : undefined;
      pendingId = undefined;
      return;
    }
    if (line.startsWith(ID_MARKER)) {
      pendingId = line.slice(ID_MARKER.length).trim();
      return;
    }
    if (line.startsWith(SHADOWED_MARKER)) line = line.slice(SHADOWED_MARKER.length).trim();
    else if (line === '' || line.startsWith('#')) return;
    const [key = '', action = ''] = line.split(/\s+/);
    const listOfAction: AccessList = action.toUpperCase() === 'OK' ? 'whitelist' : 'blacklist';
    // An entry made by hand, or moved or edited into the other list's action, is not ours.
    const managed = pendingId !== undefined && section === listOfAction;
    const id = managed ? pendingId! : `unmanaged:${fileLabel}-line-${index + 1}`;
    pendingId = undefined;
    lists[listOfAction].push({ id, kind, value: valueFromKey(kind, key) });
  });
  return lists;
}

export interface AccessMapDriverOptions {
  layout: NodeLayout;
  /** Shown in the file header so a person knows which node the file belongs to. */
  address: string;
  /** The mail driver's `postfix reload`; called once after a change, never when nothing changed. */
  reloadMail: () => Promise<void>;
}

/**
 * Both lists of a node write the same two files, so their applies are queued on one lock per
 * folder; otherwise a whitelist apply could overwrite a blacklist apply made a moment earlier.
 */
const folderLocks = new Map<string, Promise<unknown>>();

function underFolderLock<T>(folder: string, work: () => Promise<T>): Promise<T> {
  const next = (folderLocks.get(folder) ?? Promise.resolve()).then(work);
  const settled = next.catch(() => undefined);
  folderLocks.set(folder, settled);
  void settled.then(() => {
    if (folderLocks.get(folder) === settled) folderLocks.delete(folder);
  });
  return next;
}

export class AccessMapDriver<L extends AccessList> implements SystemDataDriver<L> {
  constructor(
    readonly type: L,
    private readonly options: AccessMapDriverOptions,
  ) {}

  get paths(): Record<AccessKind, string> {
    return accessMapPaths(this.options.layout);
  }

  private readBoth(): AccessLists {
    const lists: AccessLists = { whitelist: [], blacklist: [] };
    for (const [kind, path] of Object.entries(this.paths) as [AccessKind, string][]) {
      if (!existsSync(path)) continue;
      const parsed = parseAccessMap(kind, readFileSync(path, 'utf8'), kind);
      lists.whitelist.push(...parsed.whitelist);
      lists.blacklist.push(...parsed.blacklist);
    }
    return lists;
  }

  apply(entries: readonly AccessEntry[]): Promise<void> {
    return underFolderLock(this.options.layout.etc('postfix'), async () => {
      const lists = this.readBoth();
      // The other list's section is written back as read, hand-made lines included: fixing
      // that drift is its own synchronizer's decision, and it must still see it.
      // Validated here as well: the renderers rely on the grammar to keep the maps well-formed.
      lists[this.type] = validateList(this.type, entries);
      let changed = false;
      for (const [kind, path] of Object.entries(this.paths) as [AccessKind, string][]) {
        changed = writeIfChanged(path, renderAccessMap(kind, lists, this.options.address)) || changed;
      }
      if (changed) await this.options.reloadMail();
      await verifyApplied(this, entries);
    });
  }

  async read(): Promise<AccessEntry[]> {
    return this.readBoth()[this.type];
  }
}

/** The two drivers of a node's mail access lists. */
export function createAccessMapDrivers(options: AccessMapDriverOptions): { whitelist: AccessMapDriver<'whitelist'>; blacklist: AccessMapDriver<'blacklist'> } {
  return { whitelist: new AccessMapDriver('whitelist', options), blacklist: new AccessMapDriver('blacklist', options) };
}
