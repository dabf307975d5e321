// The ceiling for REST benchmarks: the same Fastify version serving a trivial JSON route, in its own
// process like the service, so a read route's req/s can be given as a fraction of what Fastify
// itself does on this machine. Prints its port, serves until SIGTERM.

import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/ping', async () => ({ robot: 'ceiling', odometer: 0, start_time: 0, end_time: 0 }));
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 })}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
