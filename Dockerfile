# The cdc service. Node 24 runs our TypeScript as it is (type stripping), as `npm run cdc` does locally: no
# build step, the image holds the sources and the production dependencies only.
FROM node:24-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so a change to the sources reuses this layer.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY common ./common
COPY connectors ./connectors
COPY schemas ./schemas
COPY services ./services

# The node image's unprivileged user; the service needs no privilege in the container.
USER node

# The control API (api.port in the pipeline file; docker-compose.yml maps it as stack/env.sh's CDC_API_PORT).
EXPOSE 8080

# /health answers 200 while the process is alive (open without a token while api.openProbes, the default).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CDC_API_PORT ?? '8080') + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The `cdc` command (package.json `bin`); arguments go to it: `docker run <image> run --config /config/pipeline.yaml`.
ENTRYPOINT ["node", "--max-semi-space-size=16", "/app/services/cli/main.ts"]
CMD ["run", "--config", "/config/pipeline.yaml"]
