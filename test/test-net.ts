/**
 * The first two octets of every loopback address the tests use. Tests that start daemons each
 * take a fixed block (`${TEST_NET}.37.x` for the mail e2e file, …); FLEETPANEL_TEST_NET moves all
 * of them to 127.<N>.x.x, so two checkouts can run the same files at once without sharing an
 * address, a port, an nftables table or a PID file.
 */
const second = Number(process.env.FLEETPANEL_TEST_NET ?? '0');
if (!Number.isInteger(second) || second < 0 || second > 254) throw new Error('FLEETPANEL_TEST_NET must be an integer from 0 to 254');

export const TEST_NET = `127.${second}`;
