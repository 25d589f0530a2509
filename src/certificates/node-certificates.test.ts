import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateFiles, nginxCertificateMapEntryFile, nginxFileOf, TLS_KEY_READER, type TlsFilePaths } from '../agent/tls-files.ts';
import { lookupUser } from '../php/system-users.ts';
import { NodeCertificates } from './node-certificates.ts';

/** A self-signed certificate for `names`, as ACME would hand one over. */
function selfSigned(dir: string, names: string[]): { certPem: string; keyPem: string } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}`], { stdio: 'ignore' });
  return { certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}

describe('node certificates', () => {
  let dir: string;
  let paths: TlsFilePaths;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleet-node-certificates-'));
    paths = { certificatesDir: join(dir, 'certs'), nginxDir: join(dir, 'nginx'), dovecotInclude: join(dir, 'dovecot.conf'), postfixSniSource: join(dir, 'postfix-sni') };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("gives nginx one map entry per name, pointing at one file with the chain and the key, readable by the workers' group only", () => {
    // The layout of the version before the map: an include folder per host.
    mkdirSync(join(paths.nginxDir, 'a.test'), { recursive: true });
    writeFileSync(join(paths.nginxDir, 'a.test', 'certificate.conf'), 'ssl_certificate /old;\n');
    const group = process.getuid!() === 0 ? lookupUser(TLS_KEY_READER)!.gid : process.getgid!();
    const store = new NodeCertificates(paths, group);
    const pem = selfSigned(dir, ['a.test', 'www.a.test']);
    assert.equal(store.install('a.test', { names: ['a.test', 'www.a.test'], ...pem }), true);
    assert.equal(store.renderIncludes(), true);

    const files = certificateFiles(paths, 'a.test');
    const nginxFile = nginxFileOf(paths, 'a.test', `${pem.certPem.trimEnd()}\n${pem.keyPem.trimEnd()}\n`);
    assert.deepEqual(readdirSync(paths.nginxDir).sort(), ['a.test.conf', 'www.a.test.conf']);
    assert.equal(readFileSync(nginxCertificateMapEntryFile(paths, 'www.a.test'), 'utf8'), `www.a.test ${nginxFile};\n`);
    assert.equal(readFileSync(nginxFile, 'utf8'), `${pem.certPem.trimEnd()}\n${pem.keyPem.trimEnd()}\n`);
    const combined = statSync(nginxFile);
    assert.equal(combined.mode & 0o777, 0o640);
    assert.equal(combined.gid, group);
    for (const path of [paths.certificatesDir, join(paths.certificatesDir, 'a.test')]) {
      const folder = statSync(path);
      assert.equal(folder.mode & 0o777, 0o750, path);
      assert.equal(folder.gid, group, path);
    }
    // Dovecot and Postfix read the key as root: it stays closed to the workers.
    assert.equal(statSync(files.keyFile).mode & 0o777, 0o600);

    assert.equal(store.renderIncludes(), false, 'nothing to write the second time');
  });

  it('gives a certificate installed before the map its combined file and opens its folder to the workers', () => {
    const group = process.getuid!() === 0 ? lookupUser(TLS_KEY_READER)!.gid : process.getgid!();
    const store = new NodeCertificates(paths, group);
    const pem = selfSigned(dir, ['b.test']);
    store.install('b.test', { names: ['b.test'], ...pem });
    const files = certificateFiles(paths, 'b.test');
    // What the version before the map left: no combined file, the names alone, a folder for root alone.
    rmSync(nginxFileOf(paths, 'b.test', `${pem.certPem.trimEnd()}\n${pem.keyPem.trimEnd()}\n`));
    writeFileSync(join(paths.certificatesDir, 'b.test', 'names.json'), JSON.stringify(['b.test']));
    chmodSync(join(paths.certificatesDir, 'b.test'), 0o700);
    assert.equal(store.renderIncludes(), true);
    assert.equal(readFileSync(files.nginxFile, 'utf8'), `${pem.certPem.trimEnd()}\n${pem.keyPem.trimEnd()}\n`);
    assert.equal(statSync(files.nginxFile).gid, group);
    assert.equal(statSync(join(paths.certificatesDir, 'b.test')).mode & 0o777, 0o750);
    assert.equal(store.remove('b.test'), true);
    store.renderIncludes();
    store.sweep();
  });

  it('renews into a combined file of a new name, keeps the one nginx reads until its reload, and takes the entries away with the certificate', () => {
    const store = new NodeCertificates(paths);
    const folder = join(paths.certificatesDir, 'a.test');
    const [first] = store.installed().filter((c) => c.domain === 'a.test').map((c) => c.nginxFile);
    const renewed = selfSigned(dir, ['a.test', 'www.a.test']);
    assert.equal(store.install('a.test', { names: ['a.test', 'www.a.test'], ...renewed }), true);
    const second = store.installed().find((c) => c.domain === 'a.test')!.nginxFile;
    assert.notEqual(second, first);
    assert.ok(readFileSync(second, 'utf8').startsWith(renewed.certPem.trimEnd()));
    assert.ok(existsSync(first!), 'the file the running nginx names stays until the next renewal');
    assert.equal(store.renderIncludes(), true, 'the map entries name the new file');
    assert.equal(readFileSync(nginxCertificateMapEntryFile(paths, 'a.test'), 'utf8'), `a.test ${second};\n`);
    assert.equal(store.install('a.test', { names: ['a.test', 'www.a.test'], ...renewed }), false, 'the same certificate again changes nothing');
    store.install('a.test', { names: ['a.test', 'www.a.test'], ...selfSigned(dir, ['a.test', 'www.a.test']) });
    assert.equal(existsSync(first!), false, 'two renewals later nothing reads it');
    assert.equal(readdirSync(folder).filter((name) => name.startsWith('nginx')).length, 2);
    assert.equal(store.remove('a.test'), true);
    assert.equal(store.remove('a.test'), false, 'removed already');
    assert.deepEqual(store.installed().map((c) => c.domain), []);
    assert.equal(store.renderIncludes(), true);
    assert.deepEqual(readdirSync(paths.nginxDir), []);
    assert.ok(existsSync(second), 'the file the running nginx names stays until its reload');
    store.sweep();
    assert.equal(existsSync(folder), false);
    // An install a crash cut short: files without names, which nothing names; a removal takes them too.
    mkdirSync(folder);
    writeFileSync(join(folder, 'privkey.pem'), renewed.keyPem);
    assert.equal(store.remove('a.test'), false, 'nothing was installed');
    store.sweep();
    assert.equal(existsSync(folder), false);
  });
});
