import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { requireRole } from '../auth/guards.ts';
import type { NodesService } from './nodes.service.ts';
import { ROLES } from '../protocol/roles.ts';
import { PROFILES, parseProfile } from './node.model.ts';
import { NodeInstaller } from './node-installer.ts';
import { NodeDetailSchema, NodeServiceActionSchema, NodeServicesSchema, NodeUnlinkedSchema, NodeViewSchema } from './node.schemas.ts';
import { openEventStream } from '../transport/sse.ts';
import { SERVICE_ACTIONS, type NodeServiceControl } from './node-services.ts';
import type { NodeHandover } from './node-handover.ts';

const Alias = Type.String({ format: 'fp-alias' });
const ServiceName = Type.String({ pattern: '^[a-z][a-z0-9-]{0,30}$', description: 'a service of the node, as `node service list` names it' });
const NODE_STREAM_POLL_MS = 400;
/** The browser follows again after this, so a forgotten tab does not hold a stream for ever. */
const NODE_STREAM_MAX_MS = 30 * 60_000;
const RoleList = Type.Array(Type.Union(ROLES.map((r) => Type.Literal(r))), { maxItems: ROLES.length });

export function registerNodeRoutes(
  app: HttpApp,
  { nodes, nodeServices, handover, dataDir }: { nodes: NodesService; nodeServices: NodeServiceControl; handover: NodeHandover; dataDir: string },
): void {
  // The installer holds SSH sessions and the agent bundle; only these routes use it.
  const installer = new NodeInstaller(nodes, dataDir);

  app.get('/api/nodes', { schema: { tags: ['nodes'], summary: 'All nodes with their live status', response: { 200: Type.Object({ nodes: Type.Array(NodeViewSchema) }) } } }, async (request) => {
    requireRole(request, 'admin');
    return { nodes: await nodes.list() };
  });

  app.get('/api/nodes/:alias', { schema: { tags: ['nodes'], summary: 'One node with its latest events (installation steps among them)', params: Type.Object({ alias: Alias }), response: { 200: NodeDetailSchema } } }, async (request) => {
    requireRole(request, 'admin');
    return nodes.show(request.params.alias);
  });

  app.get('/api/nodes/:alias/services', { schema: { tags: ['nodes'], summary: "The node's services as its watchdog sees them", params: Type.Object({ alias: Alias }), response: { 200: NodeServicesSchema } } }, async (request) => {
    requireRole(request, 'admin');
    return nodeServices.list(request.params.alias);
  });

  app.post(
    '/api/nodes/:alias/services/:action',
    {
      schema: {
        tags: ['nodes'],
        summary: 'Start, stop or restart one service of the node (or all of them when none is named); a stopped service stays stopped until started',
        params: Type.Object({ alias: Alias, action: Type.Union(SERVICE_ACTIONS.map((a) => Type.Literal(a))) }),
        body: Type.Object({ service: Type.Optional(ServiceName) }, { additionalProperties: false }),
        response: { 200: NodeServiceActionSchema },
      },
    },
    async (request) => {
      requireRole(request, 'admin');
      return nodeServices.act(request.params.alias, request.params.action, request.body.service);
    },
  );

  app.post(
    '/api/nodes/link',
    {
      schema: {
        tags: ['nodes'],
        summary: 'Link an agent installed by hand, with the one-time token it printed',
        body: Type.Object(
          {
            alias: Alias,
            host: Type.String({ format: 'fp-host' }),
            token: Type.String({ minLength: 10, maxLength: 2000 }),
            profile: Type.Optional(Type.Union(PROFILES.map((p) => Type.Literal(p)))),
            roles: Type.Optional(RoleList),
            skipTlsVerify: Type.Optional(Type.Boolean()),
            local: Type.Optional(Type.Boolean({ description: "the parent's own node (its agent runs with --parent-local)" })),
            adopt: Type.Optional(
              Type.Boolean({ description: 'the token is a handover from the parent the node is linked to: the node is held in adopting (given no data) until POST /api/nodes/{alias}/release' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: NodeViewSchema },
      },
    },
    async (request, reply) => {
      requireRole(request, 'admin');
      const body = request.body;
      const node = await nodes.link({ ...body, profile: body.profile ? parseProfile(body.profile) : undefined });
      return reply.status(201).send(node);
    },
  );

  app.post(
    '/api/nodes/add',
    {
      schema: {
        tags: ['nodes'],
        summary: 'Install a node over SSH (ISPmanager style) and link it; returns at once, the steps show in GET /api/nodes/{alias}',
        body: Type.Object(
          {
            alias: Alias,
            ssh: Type.Object(
              {
                host: Type.String({ format: 'fp-host' }),
                port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 22 })),
                username: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_-]{0,31}$', default: 'root' })),
                password: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
                privateKey: Type.Optional(Type.String({ minLength: 1, maxLength: 20_000, description: 'an OpenSSH or PEM private key' })),
              },
              { additionalProperties: false },
            ),
            profile: Type.Optional(Type.Union(PROFILES.map((p) => Type.Literal(p)))),
            roles: Type.Optional(RoleList),
            address: Type.Optional(Type.String({ format: 'fp-host', description: 'the IPv4 address the node serves on (default: the SSH host)' })),
            nodeRoot: Type.Optional(Type.String({ maxLength: 200, description: 'the agent state folder (default /var/lib/fleetpanel-agent)' })),
            installDir: Type.Optional(Type.String({ maxLength: 200, description: 'where the agent and its Node runtime go (default /opt/fleetpanel-agent)' })),
          },
          { additionalProperties: false },
        ),
        response: { 202: NodeViewSchema },
      },
    },
    async (request, reply) => {
      requireRole(request, 'admin');
      const body = request.body;
      const node = await installer.add({
        alias: body.alias,
        ssh: { host: body.ssh.host, port: body.ssh.port ?? 22, username: body.ssh.username ?? 'root', password: body.ssh.password, privateKey: body.ssh.privateKey },
        profile: body.profile ? parseProfile(body.profile) : undefined,
        roles: body.roles,
        address: body.address,
        nodeRoot: body.nodeRoot,
        installDir: body.installDir,
      });
      return reply.status(202).send(node);
    },
  );

  app.get(
    '/api/parent/identity',
    {
      schema: {
        tags: ['nodes'],
        summary: "This parent's id and name, which another parent names when it hands a node over to this one",
        response: { 200: Type.Object({ parentId: Type.String(), name: Type.String() }) },
      },
    },
    async (request) => {
      requireRole(request, 'admin');
      return { parentId: await nodes.parentId, name: nodes.parentName };
    },
  );

  app.post(
    '/api/nodes/:alias/release',
    { schema: { tags: ['nodes'], summary: 'Bring up a node adopted from another parent, once its accounts are here', params: Type.Object({ alias: Alias }), response: { 200: NodeViewSchema } } },
    async (request) => {
      requireRole(request, 'admin');
      return handover.release(request.params.alias);
    },
  );

  app.put(
    '/api/nodes/:alias/profile',
    { schema: { tags: ['nodes'], params: Type.Object({ alias: Alias }), body: Type.Object({ profile: Type.String({ maxLength: 16 }) }), response: { 200: NodeViewSchema } } },
    async (request) => {
      requireRole(request, 'admin');
      return nodes.setProfile(request.params.alias, parseProfile(request.body.profile));
    },
  );

  app.put(
    '/api/nodes/:alias/enabled',
    { schema: { tags: ['nodes'], params: Type.Object({ alias: Alias }), body: Type.Object({ enabled: Type.Boolean() }), response: { 200: NodeViewSchema } } },
    async (request) => {
      requireRole(request, 'admin');
      return nodes.setEnabled(request.params.alias, request.body.enabled);
    },
  );

  app.post(
    '/api/nodes/:alias/unlink',
    {
      schema: {
        tags: ['nodes'],
        params: Type.Object({ alias: Alias }),
        body: Type.Object({ token: Type.Optional(Type.Union([Type.Literal('leave'), Type.Literal('expire-24h')])) }),
        response: { 200: NodeUnlinkedSchema },
      },
    },
    async (request) => {
      requireRole(request, 'admin');
      return nodes.unlink(request.params.alias, request.body.token ?? 'leave');
    },
  );

  app.get(
    '/api/nodes/:alias/stream',
    {
      schema: {
        tags: ['nodes'],
        summary: "Server-sent events: a 'node' event with the node and its latest events (the installation steps as they run) at once and after every change",
        params: Type.Object({ alias: Alias }),
        produces: ['text/event-stream'],
        response: { 200: { description: 'text/event-stream: `event: <name>` and `data: <JSON>` lines per event, and comment lines to keep the connection open', content: { 'text/event-stream': { schema: Type.String() } } } },
      },
    },
    async (request, reply) => {
      requireRole(request, 'admin');
      const alias = request.params.alias;
      let last = JSON.stringify(await nodes.show(alias));
      const stream = openEventStream(request, reply);
      stream.send('node', JSON.parse(last));
      // Node events are written by the installer and the health checks, in this process or a
      // restarted one; reading the store twice a second sees them all at the cost of one query.
      const deadline = Date.now() + NODE_STREAM_MAX_MS;
      while (!stream.closed && Date.now() < deadline) {
        await Promise.race([stream.done, new Promise((resolve) => setTimeout(resolve, NODE_STREAM_POLL_MS))]);
        const now = await nodes.show(alias).catch(() => null);
        if (now === null) break;
        const text = JSON.stringify(now);
        if (text !== last) stream.send('node', now);
        last = text;
      }
      stream.end();
    },
  );
}
