FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# tsx runs the TypeScript sources directly; dev dependencies are not needed at run time.
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY profiles ./profiles
COPY fixtures ./fixtures
COPY tsconfig.json ./
USER node
EXPOSE 8080
CMD ["node", "--import", "tsx", "src/server.ts"]
