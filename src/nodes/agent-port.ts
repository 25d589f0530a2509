/** The port every agent listens on unless told otherwise; its own module so the CLI can show it without loading the nodes service. */
export const DEFAULT_AGENT_PORT = 7443;
