/**
 * Every job type the parent can run. Mistakes in a definition are refused when it is registered
 * (at start-up), not when a job reaches the faulty step hours into an account move.
 */
import type { JobData, JobDefinition } from './job.model.ts';

const TYPE_GRAMMAR = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/;
const STEP_GRAMMAR = /^[a-z][a-z0-9-]*$/;

export class JobDefinitionError extends Error {
  constructor(type: string, reason: string) {
    super(`job type '${type}': ${reason}`);
    this.name = 'JobDefinitionError';
  }
}

export class JobRegistry {
  private readonly definitions = new Map<string, JobDefinition>();

  register<D extends JobData>(definition: JobDefinition<D>): void {
    const type = String(definition.type);
    if (!TYPE_GRAMMAR.test(type)) throw new JobDefinitionError(type, 'the type must be lower-case words joined by - or .');
    if (this.definitions.has(type)) throw new JobDefinitionError(type, 'registered twice; each job type has exactly one definition');
    if (definition.onFailure !== 'undo' && definition.onFailure !== 'hold') {
      throw new JobDefinitionError(type, `onFailure must be 'undo' or 'hold', not '${String(definition.onFailure)}'`);
    }
    if (definition.steps.length === 0) throw new JobDefinitionError(type, 'has no steps');
    const seen = new Set<string>();
    for (const step of definition.steps) {
      if (!STEP_GRAMMAR.test(step.name)) throw new JobDefinitionError(type, `step name '${step.name}' must be lower-case words joined by -`);
      if (seen.has(step.name)) throw new JobDefinitionError(type, `step '${step.name}' appears twice; the journal finds steps by name`);
      seen.add(step.name);
      if (typeof step.run !== 'function') throw new JobDefinitionError(type, `step '${step.name}' has no run handler`);
      if (step.undo !== undefined && typeof step.undo !== 'function') throw new JobDefinitionError(type, `step '${step.name}' has an undo that is not a function`);
    }
    if (definition.maxAttempts !== undefined && (!Number.isInteger(definition.maxAttempts) || definition.maxAttempts < 1)) {
      throw new JobDefinitionError(type, 'maxAttempts must be a whole number of at least 1');
    }
    this.definitions.set(type, definition as unknown as JobDefinition);
  }

  get(type: string): JobDefinition | undefined {
    return this.definitions.get(type);
  }

  types(): string[] {
    return [...this.definitions.keys()].sort();
  }
}
