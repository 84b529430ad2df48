# One image for every role: `npm start` (all-in-one), `npm run runner`, `npm run gateway`.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY actors ./actors
COPY rpc ./rpc
COPY runtime ./runtime
COPY persistence ./persistence
COPY web ./web
COPY tsconfig.json ./
USER node
EXPOSE 3000 34431
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["npm", "start"]
