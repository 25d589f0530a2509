/**
 * `fleetpanel account create --from-file`: creates the good rows of a file through the API with
 * several requests in flight (the parent takes concurrent creations; each account has its own
 * lock), shows a progress bar on a terminal, and reports every row: created, or refused with the
 * row and the field. Bad rows never stop the good ones.
 */
import { readFileSync } from 'node:fs';
import { FleetError, ValidationError, exitCodeForKind, kindOf } from '../core/errors.ts';
import type { Cli } from './cli-io.ts';
import { parseAccountFile, type ParsedRow } from './account-rows.ts';

export interface RowResult {
  row: number;
  username?: string;
  result: 'created' | 'refused';
  field?: string;
  message?: string;
  error?: string;
}

export async function createAccountsFromFile(cli: Cli, file: string, inFlight: number): Promise<void> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ValidationError('--from-file', `cannot read ${file}: ${(error as Error).message}`);
  }
  let rows: ParsedRow[];
  try {
    rows = parseAccountFile(file, text);
  } catch (error) {
    throw new ValidationError('--from-file', `${(error as Error).message}`);
  }
  const results: RowResult[] = [];
  const progress = new ProgressBar(rows.length);
  const report = (result: RowResult): void => {
    results.push(result);
    progress.tick(result.result === 'created');
    if (!cli.json) progress.above(describe(result));
  };
  for (const row of rows) if (!('account' in row)) report({ row: row.row, username: row.username, result: 'refused', field: row.field, message: `${row.field}: ${row.message}`, error: 'validation' });
  const good = rows.filter((row): row is Extract<ParsedRow, { account: unknown }> => 'account' in row);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < good.length) {
      const { row, account } = good[next++]!;
      try {
        await cli.api('POST', '/api/accounts', account);
        report({ row, username: account.username, result: 'created' });
      } catch (error) {
        const kind = kindOf(error);
        const message = (error as Error).message;
        report({ row, username: account.username, result: 'refused', message, error: kind, ...fieldOf(message) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(inFlight, good.length)) }, worker));
  progress.done();
  results.sort((a, b) => a.row - b.row);
  const created = results.filter((r) => r.result === 'created').length;
  if (cli.json) process.stdout.write(JSON.stringify({ created, refused: results.length - created, rows: results }, null, 2) + '\n');
  else process.stdout.write(`${created} of ${results.length} account(s) created${created < results.length ? `, ${results.length - created} refused` : ''}\n`);
  const firstRefusal = results.find((r) => r.result === 'refused');
  // Like any command: non-zero when something was refused, with the code of the first refusal's kind.
  if (firstRefusal) process.exitCode = exitCodeForKind((firstRefusal.error ?? 'internal') as FleetError['kind']);
}

function describe(result: RowResult): string {
  const who = result.username ? ` ${result.username}` : '';
  return result.result === 'created' ? `row ${result.row}${who}: created` : `row ${result.row}${who}: refused: ${result.message}`;
}

/** The API names the field first (`domain: …`). */
function fieldOf(message: string): { field?: string } {
  const match = /^([A-Za-z][\w.[\]]*): /.exec(message);
  return match ? { field: match[1] } : {};
}

/** One line on standard error, redrawn in place; only on a terminal, so scripts see the row lines alone. */
class ProgressBar {
  private created = 0;
  private refused = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly total: number) {}

  tick(created: boolean): void {
    if (created) this.created++;
    else this.refused++;
    this.draw();
  }

  /** Prints a line of results above the bar. */
  above(line: string): void {
    if (this.tty) process.stderr.write('\r\x1b[2K');
    process.stdout.write(line + '\n');
    this.draw();
  }

  done(): void {
    if (this.tty) process.stderr.write('\r\x1b[2K');
  }

  private draw(): void {
    if (!this.tty || this.total === 0) return;
    const doneCount = this.created + this.refused;
    const width = 30;
    const filled = Math.round((doneCount / this.total) * width);
    process.stderr.write(`\r\x1b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${doneCount}/${this.total}  created ${this.created}  refused ${this.refused}`);
  }
}
