/**
 * Closes a connection that has not sent a whole request's headers within `ms` of opening. Node's
 * `headersTimeout` starts with a request's first byte, so a socket that sent nothing was kept for
 * good: anyone who could reach the port, with no token, could open `maxConnections` of them and
 * every other client's connection was closed on arrival. Once a request has come, Node's own
 * timeouts hold (`keepAliveTimeout` between requests, `headersTimeout` from a request's first byte).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export function closeSilentConnections(server: Server, ms: number): void {
  const waiting = new WeakMap<Socket, ReturnType<typeof setTimeout>>();
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), ms);
    timer.unref();
    waiting.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  server.on('request', (req: { socket: Socket }) => {
    clearTimeout(waiting.get(req.socket));
    waiting.delete(req.socket);
  });
}
