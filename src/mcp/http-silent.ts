/**
 * Closes a connection that has not sent a whole request's headers within `ms` of opening, without
 * an answer. Node (20.20 checked) closes such a connection too, with a 408, but only at its next
 * connection check (`connectionsCheckingInterval`), so up to one interval late; this bound holds
 * whatever the interval. Once a request has come, Node's own timeouts hold (`keepAliveTimeout`
 * between requests, `headersTimeout` from a request's first byte).
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
