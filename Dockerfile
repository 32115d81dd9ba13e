# The Session Jobs host node. Build:   docker build -t session-jobs-host .
# Run (docs/host-guide.md):  docker run -d --name session-jobs-host -p 8080:8080 \
#   -v /etc/session-jobs:/etc/session-jobs:ro -v session-jobs-data:/var/lib/session-jobs \
#   --env-file /etc/session-jobs/host.env session-jobs-host
FROM node:20-bookworm-slim

# better-sqlite3 and node-llama-cpp ship prebuilt binaries for linux-x64; these build them elsewhere.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/session-jobs
COPY package.json package-lock.json ./
COPY tools ./tools
COPY packages ./packages
RUN npm ci --no-audit --no-fund && npm cache clean --force
# The host dashboard the node serves at /dashboard/ (static files; set [dashboard] rpcUrl to turn it on).
RUN npm run build -w packages/app

# host.toml (from `session-jobs host init`) and the deployment JSON are mounted here;
# the SQLite database (receipts, pending transactions) must outlive the container.
# For a PostgreSQL store run with -e SESSION_JOBS_HOST_DB= -e SESSION_JOBS_HOST_STORE=postgres://…
# (both set is refused; docs/host-guide.md, "Migrating a host from SQLite").
ENV SESSION_JOBS_HOST_CONFIG=/etc/session-jobs/host.toml \
    SESSION_JOBS_HOST_DB=/var/lib/session-jobs/host.sqlite \
    SESSION_JOBS_HOST_LISTEN=0.0.0.0 \
    SESSION_JOBS_HOST_PORT=8080
RUN mkdir -p /var/lib/session-jobs && chown node:node /var/lib/session-jobs
VOLUME ["/var/lib/session-jobs"]
USER node
EXPOSE 8080

# The CLI stops the node cleanly on SIGINT: open answers finish, signed receipts are proven.
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "packages/cli/bin/session-jobs.mjs"]
CMD ["host", "start"]
