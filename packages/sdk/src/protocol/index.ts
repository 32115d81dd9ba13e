// The wire protocol lives in @session-jobs/protocol; this entry point keeps `@session-jobs/sdk/protocol` working.
export * from "@session-jobs/protocol";
