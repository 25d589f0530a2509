/**
 * Debian's pebble (an ACME test server) for the local cluster and the tests: its HTTPS listener
 * gets a certificate of its own, its DNS-01 checks ask the cluster's PowerDNS, and it runs in the
 * background recorded by PID like every other process of the cluster.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { selfSigned } from '../transport/ca.ts';
import { startBackground, stopByPidFile } from './processes.ts';

export interface PebbleOptions {
  /** folder for its config, listener certificate, PID and log */
  dir: string;
  address: string;
  /** the PowerDNS that answers the challenge records, host:port */
  dnsServer: string;
  /** lifetime of the certificates it issues (pebble's default is five years) */
  certificateValiditySeconds?: number;
}

export interface RunningPebble {
  directoryUrl: string;
  /** the CA of pebble's own HTTPS listener: what a client passes as its ACME CA bundle */
  listenerCaPem: string;
  /** the root that signs the certificates pebble issues (new at every pebble start) */
  issuingRootPem(): Promise<string>;
  pidFile: string;
}

const ACME_PORT = 14000;
const MANAGEMENT_PORT = 15000;

export async function startPebble(options: PebbleOptions): Promise<RunningPebble> {
  mkdirSync(options.dir, { recursive: true });
  const certFile = join(options.dir, 'listener.pem');
  const keyFile = join(options.dir, 'listener.key');
  if (!existsSync(certFile)) {
    const listener = await selfSigned('pebble', [options.address]);
    writeFileSync(keyFile, listener.keyPem, { mode: 0o600 });
    writeFileSync(certFile, listener.certPem);
  }
  const configFile = join(options.dir, 'pebble.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      pebble: {
        listenAddress: `${options.address}:${ACME_PORT}`,
        managementListenAddress: `${options.address}:${MANAGEMENT_PORT}`,
        certificate: certFile,
        privateKey: keyFile,
        // pebble's HTTP-01 and TLS-ALPN-01 checks are unused (Fleetpanel validates by DNS only).
        httpPort: 5002,
        tlsPort: 5001,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        ...(options.certificateValiditySeconds ? { certificateValidityPeriod: options.certificateValiditySeconds } : {}),
      },
    }),
  );
  const pidFile = join(options.dir, 'pebble.pid');
  startBackground(pidFile, join(options.dir, 'pebble.log'), '/usr/bin/pebble', ['-config', configFile, '-dnsserver', options.dnsServer], {
    ...process.env,
    // No random sleeps before validation, no rejected nonces, no reused authorizations: the
    // tests see the same sequence of requests every run.
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_WFE_NONCEREJECT: '0',
    PEBBLE_AUTHZREUSE: '0',
  });
  const listenerCaPem = readFileSync(certFile, 'utf8');
  const dispatcher = new Agent({ connect: { ca: listenerCaPem } });
  const directoryUrl = `https://${options.address}:${ACME_PORT}/dir`;
  const managementUrl = `https://${options.address}:${MANAGEMENT_PORT}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await request(directoryUrl, { dispatcher });
      await response.body.text();
      if (response.statusCode === 200) break;
    } catch (error) {
      if (attempt >= 100) throw new Error(`pebble did not answer at ${directoryUrl}: ${(error as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    directoryUrl,
    listenerCaPem,
    pidFile,
    async issuingRootPem() {
      const response = await request(`${managementUrl}/roots/0`, { dispatcher });
      return response.body.text();
    },
  };
}

export async function stopPebble(dir: string): Promise<void> {
  await stopByPidFile(join(dir, 'pebble.pid'));
}

/** The root that signs what a running pebble issues, read from its management listener. */
export async function pebbleIssuingRoot(dir: string, address: string): Promise<string> {
  const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'listener.pem'), 'utf8') } });
  const response = await request(`https://${address}:${MANAGEMENT_PORT}/roots/0`, { dispatcher });
  return response.body.text();
}
