import type { Server } from "node:net";

/** Listens on an ephemeral port of 127.0.0.1 and answers the port (test proxies and stubs). */
export async function listenLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("server has no port");
  return address.port;
}
