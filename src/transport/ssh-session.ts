/**
 * The parent's one way to reach a node over SSH (the installer's transport): one ssh2 connection
 * per installation, commands given as argument arrays and quoted here, files over SFTP written to
 * a temporary name and renamed, so a running agent never sees half a file.
 */
import ssh2, { type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { writeFileAtomic } from '../core/files.ts';

// ssh2 is CommonJS: its named exports exist only on the default import under Node's ESM loader.
const { Client, utils } = ssh2;
type Client = InstanceType<typeof ssh2.Client>;

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKey?: string;
}

export class SshCommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} exited with ${exitCode ?? 'a signal'} on the node: ${stderr.trim().split('\n').slice(-2).join(' | ') || 'no error output'}`);
    this.name = 'SshCommandError';
  }
}

/** POSIX shell quoting: SSH carries one command string, so every argument is single-quoted. */
export function shellQuote(argument: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replace(/'/g, `'\\''`)}'`;
}

export class SshSession {
  private sftpChannel: SFTPWrapper | undefined;

  private constructor(
    private readonly client: Client,
    readonly target: SshTarget,
    /** SHA-256 of the host key the server presented, as ssh-keygen -lf prints it */
    readonly hostKeyFingerprint: string,
  ) {}

  /**
   * Logs in. With `expectedHostKey` the server must present that key (a node installed before);
   * without it the key is taken on first use and its fingerprint returned for the caller to keep.
   */
  static connect(target: SshTarget, expectedHostKey?: string, timeoutMs = 15_000): Promise<SshSession> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      let presented = '';
      const config: ConnectConfig = {
        host: target.host,
        port: target.port,
        username: target.username,
        password: target.password,
        privateKey: target.privateKey,
        readyTimeout: timeoutMs,
        // Only the methods the admin gave: no agent forwarding, no keyboard prompts.
        tryKeyboard: false,
        hostVerifier: (key: Buffer) => {
          presented = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
          return expectedHostKey === undefined || presented === expectedHostKey;
        },
      };
      client.once('ready', () => resolve(new SshSession(client, target, presented)));
      client.once('error', (error: Error & { level?: string }) => {
        const reason =
          error.level === 'client-authentication'
            ? `authentication as ${target.username} failed (wrong password or key)`
            : expectedHostKey !== undefined && presented !== '' && presented !== expectedHostKey
              ? `the host key changed (expected ${expectedHostKey}, got ${presented}); if the node was reinstalled, unlink it first`
              : error.message;
        reject(new Error(`SSH to ${target.username}@${target.host}:${target.port}: ${reason}`));
      });
      client.connect(config);
    });
  }

  /** Runs argv on the node (through its shell, quoted) and returns stdout; non-zero exit throws. */
  exec(argv: string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<string> {
    const command = argv.map(shellQuote).join(' ');
    return this.execScript(command, options, argv);
  }

  /**
   * Runs a fixed shell snippet: only for constructs argv cannot express (redirections, `&`), and
   * only with values already passed through shellQuote.
   */
  execScript(script: string, options: { input?: string | Buffer; timeoutMs?: number } = {}, argvForErrors: string[] = ['sh', '-c', script]): Promise<string> {
    return new Promise((resolve, reject) => {
      this.client.exec(script, (error, stream) => {
        if (error) return reject(error);
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const timer = setTimeout(() => {
          stream.close();
          reject(new SshCommandError(argvForErrors, null, `timed out after ${options.timeoutMs} ms`));
        }, options.timeoutMs ?? 120_000);
        stream.on('data', (chunk: Buffer) => out.push(chunk));
        stream.stderr.on('data', (chunk: Buffer) => err.push(chunk));
        stream.on('close', (code: number | null) => {
          clearTimeout(timer);
          const stdout = Buffer.concat(out).toString('utf8');
          if (code === 0) resolve(stdout);
          else reject(new SshCommandError(argvForErrors, code, Buffer.concat(err).toString('utf8') || stdout));
        });
        stream.end(options.input);
      });
    });
  }

  /** Exit status instead of an exception, for checks such as `id -u fleetmaster`. */
  async succeeds(argv: string[]): Promise<boolean> {
    try {
      await this.exec(argv);
      return true;
    } catch (error) {
      if (error instanceof SshCommandError) return false;
      throw error;
    }
  }

  private sftp(): Promise<SFTPWrapper> {
    if (this.sftpChannel) return Promise.resolve(this.sftpChannel);
    return new Promise((resolve, reject) => {
      this.client.sftp((error, sftp) => {
        if (error) return reject(error);
        this.sftpChannel = sftp;
        resolve(sftp);
      });
    });
  }

  /** The SHA-256 of a file on the node, or null when it does not exist. */
  async remoteSha256(path: string): Promise<string | null> {
    try {
      const out = await this.exec(['sha256sum', '--', path]);
      return out.split(/\s+/)[0] ?? null;
    } catch {
      return null;
    }
  }

  /** Copies a local file to the node: to a temporary name first, then renamed over the target. */
  async upload(localPath: string, remotePath: string, mode: number): Promise<void> {
    const sftp = await this.sftp();
    const temporary = `${remotePath}.upload-${process.pid}`;
    await new Promise<void>((resolve, reject) => sftp.fastPut(localPath, temporary, { mode, concurrency: 16 }, (error) => (error ? reject(error) : resolve())));
    await this.exec(['chmod', mode.toString(8), temporary]);
    await this.exec(['mv', '-f', temporary, remotePath]);
  }

  /** Writes contents to a file on the node (atomically, like upload). */
  async writeFile(remotePath: string, contents: string, mode: number): Promise<void> {
    const temporary = `${remotePath}.upload-${process.pid}`;
    await this.exec(['mkdir', '-p', posix.dirname(remotePath)]);
    await this.execScript(`cat > ${shellQuote(temporary)}`, { input: contents });
    await this.exec(['chmod', mode.toString(8), temporary]);
    await this.exec(['mv', '-f', temporary, remotePath]);
  }

  async readFile(remotePath: string): Promise<string | null> {
    try {
      return await this.exec(['cat', '--', remotePath]);
    } catch {
      return null;
    }
  }

  close(): void {
    this.client.end();
  }
}

export interface SshKeyPair {
  privateKey: string;
  /** one authorized_keys line */
  publicKey: string;
}

/**
 * The parent's own SSH key pair (ed25519), kept in its data folder and created on first use. The
 * installer registers the public half on every node it installs.
 */
export function parentSshKey(dir: string, comment: string): SshKeyPair {
  const privateFile = join(dir, 'id_ed25519');
  const publicFile = `${privateFile}.pub`;
  if (!existsSync(privateFile) || !existsSync(publicFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const generated = utils.generateKeyPairSync('ed25519', { comment });
    writeFileAtomic(privateFile, generated.private, 0o600);
    writeFileAtomic(publicFile, generated.public.trim() + '\n', 0o644);
  }
  return { privateKey: readFileSync(privateFile, 'utf8'), publicKey: readFileSync(publicFile, 'utf8').trim() };
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
