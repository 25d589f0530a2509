/**
 * The password policy of the cluster: settings per node and kind, and the check every service
 * runs before it stores a password (panel logins here, mailboxes and FTP in their own services).
 */
import { ValidationError } from '../core/errors.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import { PASSWORD_KINDS, PARENT_SCOPE, resolvePolicy, type EffectivePolicy, type PasswordKind } from './password-policy.model.ts';
import type { PasswordPolicyRepository } from './password-policy.repository.ts';
import { scorePassword } from './password-strength.ts';

export interface PasswordCheckOptions {
  /** nodes.id of the node holding the account's mail; null or absent = the parent */
  mailNodeId?: number | null;
  /** the field to name in the refusal (defaults to 'password') */
  field?: string;
  /** words an attacker knows: user name, domain, address */
  userInputs?: readonly string[];
}

export interface PolicyView {
  /** the node whose settings these are; null = the parent */
  node: string | null;
  kinds: (Omit<EffectivePolicy, 'nodeId'> & { from: string })[];
}

const KIND_WORDS: Record<PasswordKind, string> = { account: 'account (panel)', mail: 'mail', mailinglist: 'mailing list', ftp: 'FTP', database: 'database' };

export class PasswordPolicyService {
  constructor(
    private readonly repo: PasswordPolicyRepository,
    private readonly nodes: Pick<NodesService, 'row' | 'list'>,
  ) {}

  /** Refuses, with a 400 naming the field and the score needed, a password weaker than the policy. */
  async assertPasswordStrength(kind: PasswordKind, password: string, options: PasswordCheckOptions = {}): Promise<void> {
    const field = options.field ?? 'password';
    if (password.length === 0) throw new ValidationError(field, 'must not be empty');
    if (password.length > 1024) throw new ValidationError(field, 'must be at most 1024 characters');
    const policy = resolvePolicy(await this.repo.all(), kind, options.mailNodeId ?? null);
    const { score, hint } = scorePassword(password, options.userInputs ?? []);
    if (score < policy.minScore) {
      throw new ValidationError(
        field,
        `is too weak: it scores ${score} of 4 and ${KIND_WORDS[kind]} passwords need at least ${policy.minScore}${hint ? ` (${hint})` : ''}; use a longer password of unrelated words`,
      );
    }
  }

  /**
   * Scores a password against the policy in force, without refusing: the panel's strength meter
   * asks this while the user types, so it shows exactly what the API would accept.
   */
  async evaluate(kind: PasswordKind, password: string, options: Omit<PasswordCheckOptions, 'field'> = {}): Promise<{ score: number; minScore: number; acceptable: boolean; hint: string | null }> {
    const policy = resolvePolicy(await this.repo.all(), kind, options.mailNodeId ?? null);
    const { score, hint } = password.length === 0 ? { score: 0, hint: null } : scorePassword(password, options.userInputs ?? []);
    return { score, minScore: policy.minScore, acceptable: password.length > 0 && score >= policy.minScore, hint };
  }

  /** The settings in force on one node (the parent when alias is absent), each with where it comes from. */
  async show(alias?: string): Promise<PolicyView> {
    const node = await this.scopeOf(alias);
    const settings = await this.repo.all();
    const nodeId = node?.id ?? null;
    const kinds = PASSWORD_KINDS.map((kind) => {
      // A node's own setting is shown for every kind, though only mail kinds reach its accounts.
      const own = nodeId === null ? undefined : settings.get(nodeId)?.[kind];
      const { nodeId: _ignored, ...effective } = own !== undefined ? { kind, minScore: own, source: 'node' as const, nodeId } : resolvePolicy(settings, kind, null);
      return { ...effective, from: effective.source === 'node' ? `node ${node!.alias}` : effective.source === 'parent' ? 'parent' : 'built-in default' };
    });
    return { node: node?.alias ?? null, kinds };
  }

  async set(alias: string | undefined, kind: PasswordKind, minScore: number): Promise<PolicyView> {
    const node = await this.scopeOf(alias);
    await this.repo.set(node?.id ?? PARENT_SCOPE, kind, minScore);
    return this.show(alias);
  }

  /** The parent's own node stands for the parent: its settings are the parent's. */
  private async scopeOf(alias: string | undefined): Promise<NodeRow | null> {
    if (alias === undefined) return null;
    const row = await this.nodes.row(alias);
    return row.is_local === 1 ? null : row;
  }
}
