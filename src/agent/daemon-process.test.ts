import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { childPids, waitFor } from './daemon-process.ts';

describe('childPids', () => {
  it("lists a master's live children, by command when asked, and none of a process that has none", async () => {
    // A master with two workers of one kind and one of another, like nginx's or Postfix's.
    const master = spawn('sh', ['-c', 'sleep 30 & sleep 30 & tail -f /dev/null & wait'], { stdio: 'ignore' });
    try {
      const pid = master.pid!;
      // A child is named after the shell from its fork until its exec: wait for the programs' names.
      await waitFor(() => childPids(pid).length === 3 && childPids(pid, ['sleep', 'tail']).length === 3, 5_000, 'the three children');
      assert.equal(childPids(pid, ['sleep']).length, 2);
      assert.equal(childPids(pid, ['tail']).length, 1);
      assert.deepEqual(childPids(pid, ['nginx']), []);
      const [sleeper] = childPids(pid, ['sleep']);
      assert.deepEqual(childPids(sleeper!), []);
      process.kill(sleeper!, 'SIGKILL');
      await waitFor(() => childPids(pid, ['sleep']).length === 1, 5_000, 'the killed child to be gone');
    } finally {
      for (const child of childPids(master.pid!)) process.kill(child, 'SIGKILL');
      master.kill('SIGKILL');
    }
    assert.deepEqual(childPids(999_999_999), [], 'a process that does not exist has no children');
  });
});
