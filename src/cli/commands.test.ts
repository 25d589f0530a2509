import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMAND_GROUPS, groupsFor, topLevelCommand } from './commands.ts';

test('the top-level command is the first word that is not a global option or its value', () => {
  assert.equal(topLevelCommand(['--url', 'http://x', '--token', 't', '--json', 'account', 'show', 'carol']), 'account');
  assert.equal(topLevelCommand(['--url=http://x', 'plan', 'list']), 'plan');
  assert.equal(topLevelCommand(['--help']), undefined);
});

test('a command loads only its groups; account loads account and transfer, node loads node, distribution and reparent; anything else loads all', async () => {
  assert.equal(groupsFor(['account', 'list']).length, 2);
  const node = groupsFor(['node', 'accounts', 'mail1']);
  assert.equal(node.length, 3);
  assert.equal(groupsFor(['--help']).length, COMMAND_GROUPS.length);
  assert.equal(groupsFor(['no-such-command']).length, COMMAND_GROUPS.length);
  assert.equal(groupsFor(['--version']).length, 0);
  // every group loads and the names it is chosen by are commands it defines or extends
  const { Command } = await import('commander');
  for (const group of COMMAND_GROUPS) {
    const program = new Command();
    (await group.load())(program, {} as never);
    for (const name of group.commands) assert.ok(program.commands.some((c) => c.name() === name), `${name} is defined`);
  }
});
