/**
 * A desired state made of keyed collections (a node's sites and proxies; its mail domains,
 * mailboxes and forwarders), pushed as a change against the state the node last acknowledged.
 * Both sides keep the state's digest (state-digest.ts) item by item: the parent remembers what
 * the node acknowledged (KnownState) and sends what differs from it with that state's digest as
 * `base`; the agent (AppliedState) takes a change only against the state it holds, and otherwise
 * refuses it (409), so the parent sends the whole state instead.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { ConflictError, ValidationError } from '../core/errors.ts';
import { StateDigest } from './state-digest.ts';
import { SerialQueue } from '../core/serial-by-key.ts';

/** How the items of one collection are keyed (an item put replaces the one of its key) and written for the digest. */
export interface Collection<T> {
  key(item: T): string;
  /** The item's fields in a fixed order, defaults spelled out: both sides must write the same text for the same item. */
  text(item: T): string;
}

type ItemOf<A> = A extends readonly (infer T)[] ? T : never;
/** A state whose every field is a collection. */
type Collections<S> = { [K in keyof S]: readonly unknown[] };
export type StateShape<S extends Collections<S>> = { readonly [K in keyof S]: Collection<ItemOf<S[K]>> };

export interface CollectionChange<T> {
  put: T[];
  removed: string[];
}
/** What differs from the state whose digest is `base`, collection by collection. */
export type StateChange<S extends Collections<S>> = { base: string } & { [K in keyof S]: CollectionChange<ItemOf<S[K]>> };

/** The schema of one collection's change: `key` is the schema of its keys (the grammar of a domain, an address). */
export function collectionChangeSchema<T extends TSchema, K extends TSchema>(item: T, key: K) {
  return Type.Object({ put: Type.Array(item, { maxItems: 100_000 }), removed: Type.Array(key, { maxItems: 100_000 }) });
}

/** The schema of a change's base: a state digest. */
export const StateBase = Type.String({ pattern: '^[0-9a-f]{64}$' });

type Keyed<S extends Collections<S>> = { [K in keyof S]: Map<string, ItemOf<S[K]>> };

function namesOf<S extends Collections<S>>(shape: StateShape<S>): (keyof S & string)[] {
  return Object.keys(shape) as (keyof S & string)[];
}

function itemsIn<S extends Collections<S>, K extends keyof S>(state: S, name: K): readonly ItemOf<S[K]>[] {
  return state[name] as unknown as readonly ItemOf<S[K]>[];
}

function itemText<S extends Collections<S>, K extends keyof S & string>(shape: StateShape<S>, name: K, item: ItemOf<S[K]>): string {
  return `${name} ${shape[name].text(item)}`;
}

function keyed<S extends Collections<S>>(shape: StateShape<S>, state: S): Keyed<S> {
  const maps = {} as Keyed<S>;
  for (const name of namesOf(shape)) maps[name] = new Map(itemsIn(state, name).map((item) => [shape[name].key(item), item]));
  return maps;
}

function unkeyed<S extends Collections<S>>(shape: StateShape<S>, maps: Keyed<S>): S {
  const state = {} as Record<string, unknown[]>;
  for (const name of namesOf(shape)) state[name] = [...maps[name].values()];
  return state as unknown as S;
}

export function stateDigest<S extends Collections<S>>(shape: StateShape<S>, state: S): string {
  const digest = new StateDigest();
  for (const name of namesOf(shape)) for (const item of itemsIn(state, name)) digest.toggle(itemText(shape, name, item));
  return digest.hex();
}

/** At the parent: the state a node acknowledged, as the digest items of each collection by key. */
export class KnownState<S extends Collections<S>> {
  private constructor(
    private readonly shape: StateShape<S>,
    private readonly texts: { [K in keyof S]: Map<string, string> },
    readonly digest: string,
  ) {}

  private static textsOf<S extends Collections<S>>(shape: StateShape<S>, state: S): { [K in keyof S]: Map<string, string> } {
    const texts = {} as { [K in keyof S]: Map<string, string> };
    for (const name of namesOf(shape)) texts[name] = new Map(itemsIn(state, name).map((item) => [shape[name].key(item), itemText(shape, name, item)]));
    return texts;
  }

  /** A whole state the node acknowledged with `digest`; undefined when that is not this state's digest (then nothing is known). */
  static acknowledged<S extends Collections<S>>(shape: StateShape<S>, state: S, digest: string): KnownState<S> | undefined {
    const texts = KnownState.textsOf(shape, state);
    const ours = StateDigest.of(namesOf(shape).flatMap((name) => [...texts[name].values()])).hex();
    return ours === digest ? new KnownState(shape, texts, digest) : undefined;
  }

  /**
   * What `state` changes against this one (undefined when nothing), and the state known once the
   * node acknowledged that change with a digest: undefined when it is not the digest expected.
   */
  changeTo(state: S): { change: StateChange<S>; after(digest: string): KnownState<S> | undefined } | undefined {
    const texts = KnownState.textsOf(this.shape, state);
    const change = { base: this.digest } as StateChange<S>;
    const expected = new StateDigest(this.digest);
    let empty = true;
    for (const name of namesOf(this.shape)) {
      const before = this.texts[name];
      const after = texts[name];
      const put = itemsIn(state, name).filter((item) => {
        const key = this.shape[name].key(item);
        return before.get(key) !== after.get(key);
      });
      const removed = [...before.keys()].filter((key) => !after.has(key));
      (change as Record<string, unknown>)[name] = { put, removed };
      for (const key of [...removed, ...put.map((item) => this.shape[name].key(item))]) expected.replace(before.get(key), after.get(key));
      if (put.length > 0 || removed.length > 0) empty = false;
    }
    if (empty) return undefined;
    return { change, after: (digest) => (expected.hex() === digest ? new KnownState(this.shape, texts, digest) : undefined) };
  }
}

/** The state a request leads to: `done()` makes it the known state once the node took it, and returns its digest. */
export interface StateStep<S extends Collections<S>> {
  state: S;
  /** absent for a whole state */
  change?: StateChange<S>;
  /** the items the change replaced or removed, as they were */
  replaced: { [K in keyof S]: ItemOf<S[K]>[] };
  done(): string;
}

/** At the agent: the state its node holds, as the parent last sent it; unknown until a whole state came. */
export class AppliedState<S extends Collections<S>> {
  private items: Keyed<S> | undefined;
  private digest: StateDigest | undefined;

  constructor(private readonly shape: StateShape<S>) {}

  whole(state: S): StateStep<S> {
    const replaced = {} as { [K in keyof S]: ItemOf<S[K]>[] };
    for (const name of namesOf(this.shape)) replaced[name] = [];
    return { state, replaced, done: () => this.become(keyed(this.shape, state), new StateDigest(stateDigest(this.shape, state))) };
  }

  /** Throws ConflictError when the state held is not the change's base. */
  change(change: StateChange<S>, what: string): StateStep<S> {
    if (!this.items || !this.digest || this.digest.hex() !== change.base) {
      throw new ConflictError(`the ${what} changed since ${change.base.slice(0, 12)}: this node holds ${this.digest ? this.digest.hex().slice(0, 12) : 'no known state'}; send the whole state`);
    }
    const items = {} as Keyed<S>;
    const replaced = {} as { [K in keyof S]: ItemOf<S[K]>[] };
    const digest = this.digest.copy();
    for (const name of namesOf(this.shape)) {
      const map = new Map(this.items[name]);
      const gone: ItemOf<S[typeof name]>[] = [];
      const { put, removed } = change[name] as CollectionChange<ItemOf<S[typeof name]>>;
      const drop = (key: string): void => {
        const item = map.get(key);
        if (item === undefined) return;
        digest.toggle(itemText(this.shape, name, item));
        gone.push(item);
        map.delete(key);
      };
      for (const key of removed) drop(key);
      const putKeys = new Set<string>();
      for (const [index, item] of put.entries()) {
        const key = this.shape[name].key(item);
        if (putKeys.has(key)) throw new ValidationError(`${name}.put[${index}]`, `'${key}' is put twice`);
        putKeys.add(key);
        drop(key);
        digest.toggle(itemText(this.shape, name, item));
        map.set(key, item);
      }
      items[name] = map;
      replaced[name] = gone;
    }
    return { state: unkeyed(this.shape, items), change, replaced, done: () => this.become(items, digest) };
  }

  private become(items: Keyed<S>, digest: StateDigest): string {
    this.items = items;
    this.digest = digest;
    return digest.hex();
  }

  /** After a step that failed: what the node holds is no longer known for sure (files may be half-way), so the next state must be whole. */
  forget(): void {
    this.items = undefined;
    this.digest = undefined;
  }
}

/**
 * At the parent: what each node acknowledged, and the push that sends a node what differs from it
 * (or its whole state, when nothing is known of it or it refuses the change). One push per node
 * at a time is the caller's to ensure.
 */
export class StatePushes<S extends Collections<S>, Answer extends { digest: string }> {
  private readonly known = new Map<string, KnownState<S>>();

  constructor(private readonly shape: StateShape<S>) {}

  /** Sends `state` to the node `key`; undefined when it holds that state already, so nothing went. */
  async push(key: string, state: S, send: { whole(state: S): Promise<Answer>; change(change: StateChange<S>): Promise<Answer> }): Promise<Answer | undefined> {
    const known = this.known.get(key);
    // Until this push's outcome is known, neither the old state nor the new one is.
    this.known.delete(key);
    if (known) {
      const delta = known.changeTo(state);
      if (delta === undefined) {
        this.known.set(key, known);
        return undefined;
      }
      try {
        const answer = await send.change(delta.change);
        const after = delta.after(answer.digest);
        if (after) this.known.set(key, after);
        return answer;
      } catch (error) {
        // The node holds another state than the one last seen here (its agent restarted).
        if (!(error instanceof ConflictError)) throw error;
      }
    }
    const answer = await send.whole(state);
    const acknowledged = KnownState.acknowledged(this.shape, state, answer.digest);
    if (acknowledged) this.known.set(key, acknowledged);
    return answer;
  }

  /** The node's next push is whole (a node that returns may have lost or missed anything). */
  forget(key: string): void {
    this.known.delete(key);
  }
}

/**
 * At the agent: runs the state requests of one kind one at a time, each checked against the state
 * the one before it left. A request refused before anything moved (a stale base, a rule broken)
 * keeps the state known; one that failed later leaves it unknown (`forget`), so the next is whole.
 */
export function stateRequestLine(forget: () => void): <Step extends { done(): string }, Result extends object>(stepOf: () => Step, apply: (step: Step) => Promise<Result>) => Promise<Result & { digest: string }> {
  const line = new SerialQueue();
  return (stepOf, apply) =>
    line.run(async () => {
      const step = stepOf();
      try {
        const result = await apply(step);
        return { ...result, digest: step.done() };
      } catch (error) {
        forget();
        throw error;
      }
    });
}
