import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAccountFile } from './account-rows.ts';

test('CSV rows: good rows become accounts, bad rows are refused with their line and field', () => {
  const csv = [
    'username,domain,password,plan,ipv6,mail_node',
    'alice,alice.example,violet-tugboat-91,,on,',
    'bob,not a domain,violet-tugboat-92,,,',
    '"carol","carol.example","pass,with,commas",small,off,mail1',
    'dave,dave.example,,,,',
    'erin,erin.example,violet-tugboat-93,,maybe,',
    'Frank!,frank.example,violet-tugboat-94,,,',
  ].join('\n');
  const rows = parseAccountFile('accounts.csv', csv);
  assert.deepEqual(rows[0], { row: 2, account: { username: 'alice', domain: 'alice.example', password: 'violet-tugboat-91', ipv6: true } });
  assert.deepEqual(rows[2], { row: 4, account: { username: 'carol', domain: 'carol.example', password: 'pass,with,commas', plan: 'small', mailNode: 'mail1', ipv6: false } });
  const refused = rows.filter((r) => !('account' in r)).map((r) => ('field' in r ? [r.row, r.username, r.field] : []));
  assert.deepEqual(refused, [
    [3, 'bob', 'domain'],
    [5, 'dave', 'password'],
    [6, 'erin', 'ipv6'],
    [7, 'Frank!', 'username'],
  ]);
});

test('a CSV header naming an unknown column refuses the file at line 1', () => {
  const rows = parseAccountFile('a.csv', 'username,domain,password,colour\nalice,alice.example,pw-long-enough-1,red\n');
  assert.deepEqual(rows, [{ row: 1, field: 'colour', message: 'is not a column of an account (columns: username, domain, password, plan, owner, ipv6, mailNode)' }]);
});

test('JSON lines: one object per line, blank lines skipped, line numbers kept', () => {
  const text = ['{"username":"alice","domain":"alice.example","password":"violet-tugboat-91","ipv6":true}', '', 'not json', '{"username":"bob","domain":"bob.example","password":"x","colour":"red"}'].join('\n');
  const rows = parseAccountFile('accounts.jsonl', text);
  assert.deepEqual(rows[0], { row: 1, account: { username: 'alice', domain: 'alice.example', password: 'violet-tugboat-91', ipv6: true } });
  assert.deepEqual(rows[1], { row: 3, field: 'line', message: 'is not a JSON object' });
  assert.deepEqual(rows[2], { row: 4, username: 'bob', field: 'colour', message: 'is not a field of an account' });
});

test('other file types are refused', () => {
  assert.throws(() => parseAccountFile('accounts.xlsx', ''), /\.csv file .* or a \.jsonl file/);
});
