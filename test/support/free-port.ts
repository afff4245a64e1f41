// A free TCP port on 127.0.0.1, found by letting the kernel pick one and releasing it. Another
// process could take it before it is used; harnesses that bind it later retry on EADDRINUSE.

import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port the kernel chose'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
