/** The system-data API: types and grammars, the digest, the node drivers and the parent's logic. */
export * from './types.ts';
export * from './digest.ts';
export * from './driver.ts';
export * from './firewall.driver.ts';
export * from './scheduler.driver.ts';
export * from './access-map.driver.ts';
export * from './targets.ts';
export * from './readiness.ts';
export * from './distributed-query.ts';
export * from './synchronizer.ts';
export * from './sysdata.service.ts';
export * from './sysdata.agent-module.ts';
