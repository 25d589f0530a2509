import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { requireRole } from '../auth/guards.ts';
import type { NotificationsService } from './notifications.service.ts';

export function registerNotificationRoutes(app: HttpApp, notifications: NotificationsService): void {
  app.get('/api/notifications', { schema: { tags: ['notifications'], summary: 'Where notifications go' } }, async (request) => {
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
      },
    },
    async (request) => {
      requireRole(request, 'admin');
      return notifications.setWebhook(request.body.url, request.body.secret);
    },
  );

  app.post('/api/notifications/test', { schema: { tags: ['notifications'], summary: 'Send a test notification through every channel now' } }, async (request) => {
    requireRole(request, 'admin');
    return notifications.sendTest();
  });

  app.get('/api/notifications/alerts', { schema: { tags: ['notifications'], summary: 'Problems notified and not yet recovered' } }, async (request) => {
    requireRole(request, 'admin');
    return { alerts: await notifications.openAlerts() };
  });
}
