/**
 * A loopback TCP proxy a test can cut and restore, to take a server away from one client without stopping the
 * server the rest of the stack shares. While cut, every open connection is dropped and each new one is closed
 * as soon as it is accepted (the client sees its request fail, as when the server behind it dies), and the
 * proxy counts those attempts, so a test can wait until a client has tried again rather than for a time.
 */
import { connect, createServer, type Socket } from 'node:net';
import { freePort } from './throwaway.ts';

export interface TcpProxy {
  /** The loopback port clients use instead of the server's. */
  readonly port: number;
  /** Connections closed on arrival since the last `cut()`. */
  readonly refused: number;
  /** Drops every connection; new ones are closed on arrival until `restore()`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let cut = false;
  let refused = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // the other side's close follows
  };
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  const server = createServer((client) => {
    if (cut) {
      refused += 1;
      client.on('error', () => undefined);
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    port,
    get refused() {
      return refused;
    },
    cut() {
      cut = true;
      refused = 0;
      dropAll();
    },
    restore() {
      cut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}
