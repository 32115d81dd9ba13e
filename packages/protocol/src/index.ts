export * from "./eip712.ts";
export * from "./transcript.ts";
export * from "./proof.ts";
export * from "./headers.ts";
export * from "./signatures.ts";
export * from "./sync.ts";
export * from "./hostPolicy.ts";
export * from "./onChainSession.ts";
