/** Every module the agent runs. One line per area; the order is the daemon start order. */
import type { AgentModule } from './agent-module.ts';

export const AGENT_MODULES: AgentModule[] = [];
