/**
 * Where notifications go: a webhook (JSON, signed) and the admin's mailbox, sent through the
 * parent's own Postfix (its node's SMTP on port 25), so mail leaves the way all the cluster's
 * mail does and the admin's address can be hosted on the cluster itself.
 */
import { hostname } from 'node:os';
import nodemailer from 'nodemailer';
import { request } from 'undici';
import { emailText, type AlertMessage } from './alert.ts';
import { EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign } from './signature.ts';

const ATTEMPTS = 3;

async function withRetries(task: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await task();
      return;
    } catch (error) {
      if (attempt >= ATTEMPTS) throw error;
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
}

export async function postWebhook(url: string, secret: string, alert: AlertMessage): Promise<void> {
  const body = JSON.stringify(alert);
  await withRetries(async () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [EVENT_HEADER]: alert.event,
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: sign(secret, timestamp, body),
      },
      body,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await response.body.dump();
    if (response.statusCode >= 300) throw new Error(`webhook answered HTTP ${response.statusCode}`);
  });
}

export async function sendEmail(smtpHost: string, to: string, parentName: string, alert: AlertMessage): Promise<void> {
  const { subject, text } = emailText(alert, parentName);
  await withRetries(async () => {
    // Every node's Postfix has its own self-signed certificate; the hop is to the parent's own node.
    const transport = nodemailer.createTransport({ host: smtpHost, port: 25, secure: false, tls: { rejectUnauthorized: false }, name: hostname() });
    try {
      await transport.sendMail({ from: `Fleetpanel <fleetpanel@${hostname()}>`, to, subject, text });
    } finally {
      transport.close();
    }
  });
}
