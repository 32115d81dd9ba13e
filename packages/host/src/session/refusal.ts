import type { Counter } from "prom-client";
import { HostError, type HostErrorCode } from "../errors.ts";

/** Throws a refusal as a `HostError`, counted by its code (refused requests, rejected receipts). */
export type Refuse = (code: HostErrorCode, message: string) => never;

/** A `Refuse` that counts each refusal in `counter`, labelled by its code. */
export function createRefuse(counter: Counter<"code">): Refuse {
  return (code, message) => {
    counter.inc({ code });
    throw new HostError(code, message);
  };
}
