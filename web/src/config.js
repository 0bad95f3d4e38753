// The chat server: VITE_SERVER_URL at build time, else the page's own origin
// (build/chat serves this client itself).
export const SERVER_URL = import.meta.env.VITE_SERVER_URL || window.location.origin;
