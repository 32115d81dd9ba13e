import type { Counter } from "prom-client";
import { HostError, type HostErrorCode, type HostErrorDetail } from "../errors.ts";

/** Throws a refusal as a `HostError`, counted by its code (refused requests, rejected receipts). */
export type Refuse = (code: HostErrorCode, message: string, detail?: HostErrorDetail) => never;

/** A `Refuse` that counts each refusal in `counter`, labelled by its code. */
export function createRefuse(counter: Counter<"code">): Refuse {
  return (code, message, detail) => {
    counter.inc({ code });
    throw new HostError(code, message, detail);
  };
}
