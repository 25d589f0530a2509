/** Short names for the generated response types the pages use. */
import type { paths } from './openapi';

type Success<Op> = Op extends { responses: infer R } ? (R extends { 200: { content: { 'application/json': infer T } } } ? T : R extends { 201: { content: { 'application/json': infer T } } } ? T : R extends { 202: { content: { 'application/json': infer T } } } ? T : never) : never;

export type Answer<P extends keyof paths, M extends 'get' | 'post' | 'put' | 'delete'> = Success<paths[P][M]>;

export type Principal = Answer<'/api/me', 'get'>;
export type NodeView = Answer<'/api/nodes', 'get'>['nodes'][number];
export type NodeDetail = Answer<'/api/nodes/{alias}', 'get'>;
export type AccountView = Answer<'/api/accounts', 'get'>['accounts'][number];
export type JobView = Answer<'/api/jobs', 'get'>['jobs'][number];
export type JobDetail = Answer<'/api/jobs/{id}', 'get'>;
export type PlanView = Answer<'/api/plans', 'get'>['plans'][number];
export type ResellerView = Answer<'/api/resellers', 'get'>['resellers'][number];
export type PolicyView = Answer<'/api/password-policy', 'get'>;
export type SyncStatus = Answer<'/api/sysdata/status', 'get'>['types'][number];
export type Mailboxes = Answer<'/api/accounts/{username}/mail/mailboxes', 'get'>;
export type Forwarders = Answer<'/api/accounts/{username}/mail/forwarders', 'get'>;
export type Zone = Answer<'/api/accounts/{username}/dns/records', 'get'>;
export type Strength = Answer<'/api/password-strength', 'post'>;
export type NodeAccounts = Answer<'/api/nodes/{alias}/distributed-accounts', 'get'>;
export type LossReport = Answer<'/api/nodes/{alias}/force-dedistribute', 'post'>;
