import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { requireRole } from '../auth/guards.ts';
import type { NotificationsService } from './notifications.service.ts';

const SettingsSchema = Type.Object({
  email: Type.Union([Type.String(), Type.Null()]),
  webhookUrl: Type.Union([Type.String(), Type.Null()]),
  webhookSecretSet: Type.Boolean({ description: 'whether a webhook secret is set (the secret itself is shown only when generated)' }),
});

export function registerNotificationRoutes(app: HttpApp, notifications: NotificationsService): void {
  app.get('/api/notifications', { schema: { tags: ['notifications'], summary: 'Where notifications go', response: { 200: SettingsSchema } } }, async (request) => {
    requireRole(request, 'admin');
    return notifications.settings();
  });

  app.put(
    '/api/notifications/email',
    {
      schema: {
        tags: ['notifications'],
        summary: "The admin's address, mailed through the parent's own Postfix (null: no email)",
        body: Type.Object({ address: Type.Union([Type.String({ maxLength: 254 }), Type.Null()]) }, { additionalProperties: false }),
        response: { 200: SettingsSchema },
      },
    },
    async (request) => {
      requireRole(request, 'admin');
      return notifications.setEmail(request.body.address);
    },
  );

  app.put(
    '/api/notifications/webhook',
    {
      schema: {
        tags: ['notifications'],
        summary: 'A webhook that receives each notification as JSON, signed with X-Fleetpanel-Signature (HMAC-SHA256 of "<timestamp>.<body>"); without a secret one is generated and returned once',
        body: Type.Object({ url: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]), secret: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
        response: { 200: Type.Composite([SettingsSchema, Type.Object({ webhookSecret: Type.Optional(Type.String({ description: 'the generated secret, shown this once' })) })]) },
      },
    },
    async (request) => {
      requireRole(request, 'admin');
      return notifications.setWebhook(request.body.url, request.body.secret);
    },
  );

  app.post('/api/notifications/test', { schema: { tags: ['notifications'], summary: 'Send a test notification through every channel now', response: { 200: Type.Object({ sentTo: Type.Array(Type.String()) }) } } }, async (request) => {
    requireRole(request, 'admin');
    return notifications.sendTest();
  });

  app.get('/api/notifications/alerts', { schema: { tags: ['notifications'], summary: 'Problems notified and not yet recovered', response: { 200: Type.Object({ alerts: Type.Array(Type.Object({ key: Type.String(), kind: Type.String(), subject: Type.String(), since: Type.String() })) }) } } }, async (request) => {
    requireRole(request, 'admin');
    return { alerts: await notifications.openAlerts() };
  });
}
