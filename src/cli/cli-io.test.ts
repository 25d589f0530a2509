import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { refusePlainCredentials } from './cli-io.ts';

describe('credentials over plain HTTP', () => {
  it('are refused to any address off this machine, naming --url', () => {
    for (const url of ['http://panel.example.com:8080', 'http://192.0.2.7', 'http://[2001:db8::1]:8080']) {
      assert.throws(() => refusePlainCredentials(url, true), /--url: refusing to send a password or token over plain HTTP/, url);
    }
  });

  it('are allowed over HTTPS anywhere, and over HTTP on loopback only', () => {
    for (const url of ['https://panel.example.com', 'http://127.0.10.1:8080', 'http://localhost:8080', 'http://[::1]:8080']) {
      assert.doesNotThrow(() => refusePlainCredentials(url, true), url);
    }
  });

  it('do not stop a call that carries none', () => {
    assert.doesNotThrow(() => refusePlainCredentials('http://panel.example.com', false));
  });
});
