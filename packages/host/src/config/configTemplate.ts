const presets = {
  embedded: { title: "the embedded model (CPU, ships with Session Jobs; for trying things out)" },
  vllm: { title: "vLLM (`vllm serve <model>`, OpenAI-compatible API on port 8000)", url: "http://127.0.0.1:8000/v1" },
  "llama-cpp": { title: "llama.cpp server (`llama-server -m model.gguf --port 8081`; 8080 is this node's port)", url: "http://127.0.0.1:8081/v1" },
  ollama: { title: "Ollama (`ollama serve`, OpenAI-compatible API on port 11434)", url: "http://127.0.0.1:11434/v1" },
  openai: { title: "any OpenAI-compatible server that reports `usage` (give --backend-url)" },
} as const;

export type BackendPreset = keyof typeof presets;

/** Where inference runs, as `host init --preset` names it, with the server's usual base URL. */
export const backendPresets: Record<BackendPreset, { title: string; url?: string }> = presets;

export type HostConfigTemplateParameters = {
  preset: BackendPreset;
  rpcUrl: string;
  /** The deployment JSON, relative to the config file's folder. */
  deployments: string;
  models: readonly string[];
  publicUrl: string;
  minPricePerToken: bigint;
  minPricePerTokenNative?: bigint;
  /** For every preset but `embedded`: the server's base URL (…/v1) and the model name it serves. */
  backendUrl?: string;
  backendModel?: string;
  port: number;
};

/**
 * A complete, commented `host.toml`: everything `host register` and `host start` need, and every
 * other setting at its default, commented out.
 */
export function hostConfigTemplate(parameters: HostConfigTemplateParameters): string {
  const string = (value: string) => JSON.stringify(value);
  const backend =
    parameters.preset === "embedded"
      ? [
          'type = "embedded"',
          '# modelPath = "model.gguf"            # another GGUF file (default: the bundled model)',
          "# threads = 1                          # CPU threads for generation",
        ]
      : [
          'type = "upstream"',
          `url = ${string(parameters.backendUrl ?? "")}`,
          `model = ${string(parameters.backendModel ?? "")}          # the name the server serves; billed with its own token counts`,
          "# apiKey: set SESSION_JOBS_HOST_BACKEND_API_KEY rather than writing it here",
          "# continuousUsage = true                 # vLLM: usage in every chunk, exact counts when a client aborts",
          '# tokenizeUrl = "http://127.0.0.1:8000/tokenize"  # prompt count for an aborted stream (default: beside /v1; false: none)',
        ];
  return `# Session Jobs host node (written by \`session-jobs host init --preset ${parameters.preset}\`).
# Backend: ${backendPresets[parameters.preset].title}
#
# The host key is never written here: set SESSION_JOBS_HOST_PRIVATE_KEY, or use the [keystore]
# table below. Environment variables (SESSION_JOBS_RPC_URL, SESSION_JOBS_DEPLOYMENT,
# SESSION_JOBS_HOST_*) override this file; relative paths are relative to this file.
# Next: \`session-jobs host register\`, then \`session-jobs host start\`.

rpcUrl = ${string(parameters.rpcUrl)}
deployments = ${string(parameters.deployments)}        # written by \`session-jobs deploy --out\`
# chainId = 84532                                # checked against the RPC when given
# [contracts]                                    # instead of deployments (or to override one address):
# jobMarketplace = "0x…"
# nodeRegistry = "0x…"
# modelRegistry = "0x…"
# hostEarnings = "0x…"

# On-chain model ids (bytes32) this node serves: \`session-jobs model add\` prints them.
models = [
${parameters.models.map((model) => `  ${string(model)},`).join("\n")}
]

# The URL clients reach this node at; registered on chain by \`host register\`.
publicUrl = ${string(parameters.publicUrl)}
dbPath = "host.sqlite"                           # receipts and pending transactions (SQLite); one node per file
# store = "postgres://host@db.internal/hosts"    # instead of dbPath: several processes share one PostgreSQL (docs/host-guide.md)
# storePoolSize = 10                             # PostgreSQL connections per process for queries (one more holds its locks)
# storeQueryTimeoutMs = 15000                    # a PostgreSQL query unanswered this long fails as a retryable 503 (a network partition)
# lockDir = "/run/session-jobs"                  # host start's per-key lock (default: in the temporary directory)
# metadata = '{"location": "eu-west"}'           # registration metadata (JSON)

# privateKey = "0x…"                             # possible, but SESSION_JOBS_HOST_PRIVATE_KEY keeps it out of files
# [keystore]                                     # instead of SESSION_JOBS_HOST_PRIVATE_KEY
# path = "host-key.json"                         # a v3 keystore (geth, cast wallet new)
# passwordFile = "host-key.password"             # a file holding the password, or:
# password = "…"                                 # better: SESSION_JOBS_HOST_KEYSTORE_PASSWORD

[pricing]
minPricePerToken = ${parameters.minPricePerToken}                       # USDC base units per token, 100..100000
${parameters.minPricePerTokenNative === undefined ? "# minPricePerTokenNative = 10000000000     " : `minPricePerTokenNative = ${parameters.minPricePerTokenNative}   `}# wei per token for ETH sessions

[backend]
${backend.join("\n")}

[server]
host = "127.0.0.1"                               # "0.0.0.0" to accept connections from other machines
port = ${parameters.port}
# maxBodyBytes = 1048576
# corsOrigins = ["https://app.example"]          # web pages allowed to call this node from a browser; "*" for any
# maxConnections = 1024                          # open connections in total (lowered to keep reservedFileDescriptors free)
# maxConnectionsPerAddress = 64                  # open connections from one remote address
# reservedFileDescriptors = 128                  # of ulimit -n, kept for the RPC client, the database, the upstream
# headersTimeoutMs = 10000                       # a request's headers must arrive within this (else 408)
# requestTimeoutMs = 30000                       # a whole request, headers and body (else 408)
# keepAliveTimeoutMs = 5000                      # an idle keep-alive connection is closed after this
# writeStallTimeoutMs = 10000                    # a sync answer whose client reads none of its next 64 KiB this long is cut off

[batch]                                          # when proofs go on chain
# maxJobs = 50                                   # sessions per submitProofsBatch transaction
# delayMs = 2000                                 # how long a due proof waits for others
# idleFlushSeconds = 3600                        # prove signed tokens below one interval after this much idle
# deadlineMarginSeconds = 600                    # prove everything signed this close to a session's end
# drainTimeoutMs = 15000                         # on SIGTERM/SIGINT, wait this long for every signed receipt's proof

[limits]
# defaultMaxTokens = 256                         # when a request names no max_tokens
# maxTokens = 4096
# sessionCacheMs = 5000                          # trust past the settlement watcher's last round
# promptTokensPerMessage = 8                     # chat template overhead in the prompt estimate (0..32)
# maxUnsignedBytes = 8388608                     # unreceipted requests + answers kept per session; 8/3 x (this + server.maxBodyBytes) <= 48 MiB (of a client's 64 MiB read)
# maxSyncBytesInFlight = 33554432               # stored bytes all sync answers being written hold together (>= 2 x maxUnsignedBytes)
# maxCheckpointInterval = 1000                   # largest checkpoint interval accepted; host register publishes it
# maxUnsignedTokens = 500                        # cut off unsigned tokens here even below the session's interval

[chain]
# pollingIntervalMs = 1000
# receiptTimeoutMs = 120000

[dashboard]                                      # read-only page at http://<node>/dashboard/ (the host's wallet adds controls)
# dir = "/opt/session-jobs/packages/app/dist"    # the built web app (default with host start: the repository's build, if built)
# rpcUrl = "https://sepolia.base.org"            # the RPC browsers use (required unless rpcUrl is on this machine; never the node's own)
# fromBlock = 123456                             # first block of event queries (default: the deployments file's deployedAtBlock)
`;
}
