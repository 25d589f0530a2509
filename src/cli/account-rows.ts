/**
 * The rows of `fleetpanel account create --from-file`: a CSV file with a header line, or JSON
 * lines (one object per line), with the fields of one `account create`. Each row is checked here
 * with the same grammar the API applies, so a bad row is refused with its row and field named
 * before anything is sent; the API refuses what only it can know (a taken domain, an unknown
 * plan), and that refusal is reported against the row as well.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { checkAccountDomain, checkAlias, checkUsername, type Checker } from '../core/grammar.ts';

export interface AccountRow {
  username: string;
  domain: string;
  password: string;
  plan?: string;
  owner?: string;
  ipv6?: boolean;
  mailNode?: string;
}

/** A line of the file: the row to create, or why it is refused. `row` counts lines from 1, the CSV header included. */
export type ParsedRow = { row: number; account: AccountRow } | { row: number; username?: string; field: string; message: string };

const FIELDS = ['username', 'domain', 'password', 'plan', 'owner', 'ipv6', 'mailNode'] as const;
/** Spellings a spreadsheet tends to produce for the same columns. */
const ALIASES: Record<string, (typeof FIELDS)[number]> = { mail_node: 'mailNode', 'mail-node': 'mailNode', mailnode: 'mailNode', user: 'username' };

export function parseAccountFile(fileName: string, text: string): ParsedRow[] {
  if (/\.jsonl?$|\.ndjson$/i.test(fileName)) return parseJsonLines(text);
  if (/\.csv$/i.test(fileName)) return parseCsvRows(text);
  throw new Error(`${fileName}: give a .csv file (with a header line) or a .jsonl file (one JSON object per line)`);
}

function parseJsonLines(text: string): ParsedRow[] {
  const rows: ParsedRow[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      rows.push({ row: index + 1, field: 'line', message: 'is not a JSON object' });
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      rows.push({ row: index + 1, field: 'line', message: 'is not a JSON object' });
      return;
    }
    rows.push(checkRow(index + 1, value as Record<string, unknown>));
  });
  return rows;
}

function parseCsvRows(text: string): ParsedRow[] {
  const records = parseCsv(text, { skip_empty_lines: true, trim: true, relax_column_count: true, info: true }) as unknown as { record: string[]; info: { lines: number } }[];
  if (records.length === 0) return [];
  const header = records[0]!.record.map((name) => ALIASES[name.toLowerCase()] ?? name);
  const unknown = header.filter((name) => !(FIELDS as readonly string[]).includes(name));
  if (unknown.length > 0) return [{ row: 1, field: unknown[0]!, message: `is not a column of an account (columns: ${FIELDS.join(', ')})` }];
  return records.slice(1).map(({ record, info }) => {
    if (record.length > header.length) return { row: info.lines, field: 'line', message: `has ${record.length} values for ${header.length} columns` };
    const value: Record<string, unknown> = {};
    header.forEach((name, i) => {
      if (record[i] !== undefined && record[i] !== '') value[name] = record[i];
    });
    return checkRow(info.lines, value);
  });
}

function checkRow(row: number, value: Record<string, unknown>): ParsedRow {
  const username = typeof value.username === 'string' ? value.username : undefined;
  const refuse = (field: string, message: string): ParsedRow => ({ row, ...(username ? { username } : {}), field, message });
  for (const key of Object.keys(value)) if (!(FIELDS as readonly string[]).includes(ALIASES[key] ?? key)) return refuse(key, 'is not a field of an account');
  const text = (field: string): string | undefined => {
    const found = value[field] ?? Object.entries(value).find(([key]) => ALIASES[key] === field)?.[1];
    return found === undefined || found === null ? undefined : String(found);
  };
  const checked: [string, Checker, boolean][] = [
    ['username', checkUsername, true],
    ['domain', checkAccountDomain, true],
    ['owner', checkUsername, false],
    ['mailNode', (v) => (v === 'local' ? null : checkAlias(v)), false],
  ];
  for (const [field, checker, required] of checked) {
    const given = text(field);
    if (given === undefined) {
      if (required) return refuse(field, 'is required');
      continue;
    }
    const problem = checker(given);
    if (problem) return refuse(field, problem);
  }
  const password = text('password');
  if (!password) return refuse('password', 'is required');
  let ipv6: boolean | undefined;
  const ipv6Given = value.ipv6;
  if (typeof ipv6Given === 'boolean') ipv6 = ipv6Given;
  else if (ipv6Given !== undefined) {
    const word = String(ipv6Given).toLowerCase();
    if (['on', 'yes', 'true', '1'].includes(word)) ipv6 = true;
    else if (['off', 'no', 'false', '0', ''].includes(word)) ipv6 = false;
    else return refuse('ipv6', 'must be on or off');
  }
  const account: AccountRow = { username: text('username')!, domain: text('domain')!, password };
  for (const field of ['plan', 'owner', 'mailNode'] as const) {
    const given = text(field);
    if (given !== undefined) account[field] = given;
  }
  if (ipv6 !== undefined) account.ipv6 = ipv6;
  return { row, account };
}
