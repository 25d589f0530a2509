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
  /** not running by design: it has nothing to serve (php-fpm without pools); the watchdog leaves it alone */
  idle?: boolean;
  /** messages waiting in the daemon's queue (Postfix) */
  queued?: number;
}

/** One protocol check of a daemon (an SMTP banner, a DNS answer, a database ping); throws when the daemon does not answer properly. */
export interface DaemonProbe {
  readonly what: string;
  run(timeoutMs: number): Promise<void>;
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
  /** How the watchdog asks the running daemon whether it answers (none: the PID is all it watches). */
  probes?(): DaemonProbe[];
  /** The daemon's own log, whose last lines explain a failed daemon. */
  logFilePath?(): string;
  /** Run by the watchdog after it restarted this daemon (a delivery target flushes the mail waiting for it). */
  afterRestart?(): Promise<void>;
  /** Picks up new or renewed domain certificates (the files of agent/tls-files.ts) without dropping connections. */
  reloadCertificates?(): Promise<void>;
}

export interface DriverContext {
  layout: NodeLayout;
  /** The node's own address: every listener binds it and nothing else. */
  address: string;
  log: (message: string, fields?: Record<string, unknown>) => void;
}
