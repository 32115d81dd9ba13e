import pg from "pg";
import { connectionOptions } from "./postgresConnection.ts";

/**
 * One PostgreSQL connection made for a command an operator runs (a migration, a roll-back's check),
 * that `signal` stops at once: a server that accepts the connection and never answers would
 * otherwise hold the command until the connect timeout. Stopped, the socket is destroyed and
 * `stopped()` is thrown; any other failure is the driver's.
 */
export async function connectClient(parameters: {
  url: string;
  applicationName: string;
  connectTimeoutMs: number;
  signal?: AbortSignal | undefined;
  stopped: () => Error;
}): Promise<pg.Client> {
  const { signal } = parameters;
  if (signal?.aborted) throw parameters.stopped();
  const client = new pg.Client({
    connectionString: parameters.url,
    application_name: parameters.applicationName,
    ...connectionOptions({ connectTimeoutMs: parameters.connectTimeoutMs }),
  });
  // A connection lost later fails its query; the event must not go unheard.
  client.on("error", () => undefined);
  // The stream read when stopped: a TLS upgrade replaces it.
  const stop = () => client.connection.stream.destroy();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw signal?.aborted ? parameters.stopped() : error;
  } finally {
    signal?.removeEventListener("abort", stop);
  }
  return client;
}
