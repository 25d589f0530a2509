/**
 * What every agent driver has to offer. A driver owns one daemon (or one piece of system data)
 * on one node, renders its configuration as a pure function of typed, validated input, writes
 * it atomically, checks it with the daemon's own checker, and reloads rather than restarts.
 */
import type { NodeLayout } from './node-layout.ts';

export interface DriverStatus {
  name: string;
  running: boolean;
  pid?: number;
  detail?: string;
}

/** A daemon instance that belongs to one node and is bound to that node's address. */
export interface DaemonDriver {
  readonly name: string;
  /** Writes the base configuration and starts the instance if it is not running. Idempotent. */
  start(): Promise<void>;
  /** Stops the instance by the PID it recorded. Idempotent. */
  stop(): Promise<void>;
  /** Runs the daemon's own configuration checker; throws with its message on failure. */
  check(): Promise<void>;
  /** Makes the running instance pick up new configuration without dropping connections. */
  reload(): Promise<void>;
  status(): Promise<DriverStatus>;
}

export interface DriverContext {
  layout: NodeLayout;
  /** The node's own address: every listener binds it and nothing else. */
  address: string;
  log: (message: string, fields?: Record<string, unknown>) => void;
}
