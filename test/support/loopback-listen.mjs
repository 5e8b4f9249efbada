// Preloaded (node --import) into a server a test starts whose own code listens on a port without
// naming a host (the Functions Framework's main: server.listen(port)): binds it to 127.0.0.1, as
// every test server here is, instead of every interface.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const portOnly = typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]));
  if (portOnly && (args.length === 1 || typeof args[1] === 'function')) args.splice(1, 0, '127.0.0.1');
  return listen.apply(this, args);
};
