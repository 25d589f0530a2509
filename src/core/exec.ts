/**
 * The one way Fleetpanel runs a program: an argument array (never a shell string), with a
 * structured error that carries argv, exit code and stderr.
 */
import { execFile, type ExecFileOptions } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} exited with ${exitCode}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

export function run(file: string, args: string[], options: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const execOptions: ExecFileOptions = {
      cwd: options.cwd,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    };
    const child = execFile(file, args, execOptions, (error, stdout, stderr) => {
      const out = String(stdout);
      const err = String(stderr);
      if (error) {
        const code = typeof (error as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((error as unknown as { code: number }).code) : null;
        reject(new CommandError([file, ...args], code, out, err || error.message));
      } else {
        resolve({ stdout: out, stderr: err });
      }
    });
    if (options.input !== undefined) {
      // A program that exits before reading its input (openssl s_client when nothing listens)
      // closes the pipe: the EPIPE is no error of ours, its exit status above tells what happened.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(options.input);
    }
  });
}
