# One image for every role; the command chooses it: `npm start` (all-in-one, the default), `npm run runner` (shard
# node) or `npm run gateway` (REST/RPC front). docker-compose.yml and deploy/k8s/ run the same image three ways.
# The web app is built in a stage of its own (vite and React are development dependencies).
FROM node:20-bookworm-slim AS web
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY web ./web
COPY rpc ./rpc
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force
# The sources (tsx runs the TypeScript as is); .dockerignore keeps tests, local data and tooling out. One COPY of the
# context rather than a line per folder, so a folder that is empty or new (web/) never breaks the build.
COPY . .
COPY --from=web /app/web/dist ./web/dist
# The sources stay root-owned (read-only to the app); only DATA_DIR, where `npm start` keeps its embedded PostgreSQL
# when no DATABASE_URL is set, is writable.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# 3000: HTTP (PORT: API on gateways and all-in-one, probes and /metrics everywhere); 34431: runner-to-runner (RUNNER_PORT).
EXPOSE 3000 34431
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["npm", "start"]
