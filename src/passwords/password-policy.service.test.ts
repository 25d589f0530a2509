import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PasswordPolicyService } from './password-policy.service.ts';
import { PARENT_SCOPE, type PolicySettings } from './password-policy.model.ts';
import type { PasswordPolicyRepository } from './password-policy.repository.ts';
import { ValidationError } from '../core/errors.ts';

const CHILD = 7;
const settings: PolicySettings = new Map([
  [PARENT_SCOPE, { mail: 2 }],
  [CHILD, { mail: 4 }],
]);
const repo = { all: async () => settings } as unknown as PasswordPolicyRepository;
const service = new PasswordPolicyService(repo, { row: async () => { throw new Error('unused'); }, list: async () => [] });

test('the strength meter accepts exactly what the refusal check accepts, on the node whose policy applies', async () => {
  for (const password of ['password', 'carol.example', 'Tr0ub4dor&3', 'Vivid-Walrus-Harbor-92-Lantern']) {
    for (const mailNodeId of [null, CHILD]) {
      const options = { mailNodeId, userInputs: ['carol', 'carol.example'] };
      const evaluated = await service.evaluate('mail', password, options);
      const refused = await service.assertPasswordStrength('mail', password, options).then(() => false, (error: unknown) => error instanceof ValidationError);
      assert.equal(evaluated.acceptable, !refused, `${password} on ${mailNodeId ?? 'parent'}`);
      assert.equal(evaluated.minScore, mailNodeId === CHILD ? 4 : 2);
    }
  }
});

test('an empty password scores 0 and is never acceptable', async () => {
  assert.deepEqual(await service.evaluate('mail', ''), { score: 0, minScore: 2, acceptable: false, hint: null });
});

test('a password made of what an attacker knows (the address) is not acceptable, though it scores well alone', async () => {
  assert.equal((await service.evaluate('mail', 'harborcarolwalrus')).acceptable, true);
  const known = await service.evaluate('mail', 'harborcarolwalrus', { userInputs: ['harborcarolwalrus@carol.example', 'harborcarolwalrus'] });
  assert.equal(known.acceptable, false);
});
