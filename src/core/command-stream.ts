/**
 * A command's output as a stream, and a stream as a command's input, for data too large to hold
 * in memory (folders through tar, databases through mariadb-dump and the mariadb client). The
 * output stream ends only once the command has said it succeeded: a failing command must reach
 * the other side as a broken stream, never as a short but well-formed one.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';

const lastLine = (text: string): string => text.trim().split('\n').at(-1) ?? '';

/** `what` names the data in errors ("tar of the site example.com"); `okCodes`: exit codes that still mean a whole output. */
export function commandOutput(command: string, args: string[], what: string, okCodes: readonly number[] = [0]): Readable {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new PassThrough();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.pipe(out, { end: false });
  child.on('error', (error) => out.destroy(error));
  child.on('close', (code) => {
    if (code !== null && okCodes.includes(code)) out.end();
    else out.destroy(new Error(`${what} failed (exit ${code}): ${lastLine(stderr)}`));
  });
  out.on('close', () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  return out;
}

/**
 * Feeds `input` to the command's standard input; resolves when it exits 0, rejects when either
 * side breaks. `failure` starts the message of a non-zero exit ("tar could not extract the site …").
 */
export function commandInput(input: Readable, command: string, args: string[], what: string, options: Pick<SpawnOptions, 'uid' | 'gid'> & { failure?: string } = {}): Promise<void> {
  const { failure = `${command} could not take ${what}`, ...ids } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'], ...ids });
    let stderr = '';
    let inputError: Error | undefined;
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    input.on('error', (error) => {
      inputError = error;
      child.kill('SIGTERM');
    });
    // The command closing early (bad input) makes stdin fail with EPIPE; its exit code says why.
    child.stdin!.on('error', () => undefined);
    input.pipe(child.stdin!);
    child.on('error', reject);
    child.on('close', (code) => {
      if (inputError) reject(new Error(`the stream of ${what} broke off: ${inputError.message}`));
      else if (code === 0) resolve();
      else reject(new Error(`${failure} (exit ${code}): ${lastLine(stderr)}`));
    });
  });
}
