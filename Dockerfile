FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# tsx runs the TypeScript sources directly; dev dependencies are not needed at run time.
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY profiles ./profiles
COPY fixtures ./fixtures
COPY scripts ./scripts
COPY tsconfig.json ./
# DATA_DIR: development mode keeps its demo keys here (a volume in docker-compose.yml).
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
CMD ["node", "--import", "tsx", "src/server.ts"]
