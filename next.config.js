// Next.js config for the studio's web app (app/). The app is served by server/index.ts, not `next start`.
/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  devIndicators: false,
  // Loaded by Node, never bundled: one copy of Yjs (two copies break CRDT type checks) and native modules.
  serverExternalPackages: ['yjs', 'y-protocols', 'y-websocket', 'lib0', 'socket.io', 'sharp', 'better-sqlite3', '@prisma/client'],
  // Type errors are caught by `npm run typecheck` over the whole repo; the build does not type-check twice.
  // Next rewrites the tsconfig it uses; it gets its own file so the repo's tsconfig.json stays as written.
  typescript: { ignoreBuildErrors: true, tsconfigPath: 'tsconfig.next.json' },
};

export default nextConfig;
