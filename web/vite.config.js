import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `vite build` writes the static client to dist/, which build/chat serves at /.
// `vite` (npm run dev) proxies Socket.IO to a chat server on localhost:5000
// (override with CHAT_SERVER), so the default server URL (the page's origin)
// works in development too.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    proxy: {
      '/socket.io': { target: process.env.CHAT_SERVER || 'http://localhost:5000', ws: true },
    },
  },
});
