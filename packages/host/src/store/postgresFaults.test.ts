import { describe, expect, it } from "vitest";
import { isServerFault } from "./postgresFaults.ts";

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe("isServerFault", () => {
  it("takes the server's and the network's failures for an outage (a retryable storage_unavailable)", () => {
    for (const error of [
      withCode("terminating connection due to administrator command", "57P01"),
      withCode("the database system is starting up", "57P03"),
      withCode("connection failure", "08006"),
      withCode("too many connections for role", "53300"),
      withCode("connect ECONNREFUSED /run/postgresql/.s.PGSQL.5432", "ECONNREFUSED"),
      withCode("connect ENOENT /tmp/pg/.s.PGSQL.5432", "ENOENT"),
      withCode("write EPIPE", "EPIPE"),
      withCode("getaddrinfo EAI_AGAIN db", "EAI_AGAIN"),
      withCode("Cannot call write after a stream was destroyed", "ERR_STREAM_DESTROYED"),
      new Error("Connection terminated unexpectedly"),
      new Error("Client has encountered a connection error and is not queryable"),
      new Error("timeout exceeded when trying to connect"),
      // pg's query_timeout: the store's bound on a query that a partition left unanswered.
      new Error("Query read timeout"),
    ])
      expect(isServerFault(error), error.message).toBe(true);
  });

  it("does not take a bug of ours or a refused statement for an outage: it is not retried as one", () => {
    // A code-less error used to count as an outage: a TypeError in a row mapping was retried every second, forever, as a warning.
    for (const error of [
      new TypeError("Cannot read properties of undefined (reading 'job_id')"),
      withCode("duplicate key value", "23505"),
      withCode('unterminated quoted string at or near "\'x"', "42601"),
      "text",
    ])
      expect(isServerFault(error), String(error)).toBe(false);
  });

  it("takes any failure on a connection that reported its own death meanwhile for an outage", () => {
    expect(isServerFault(new TypeError("Cannot read properties of null"), true)).toBe(true);
  });
});
