import { useLocation } from './router.jsx';
import Join from './components/Join.jsx';
import Chat from './components/Chat.jsx';

export default function App() {
  const { path, params } = useLocation();
  const name = params.get('name') || '';
  const room = params.get('room') || '';
  if (path.replace(/\/+$/, '') === '/chat' && name.trim() && room.trim()) {
    // A new key per name/room: a fresh connection when either changes.
    return <Chat key={`${name}\n${room}`} name={name} room={room} />;
  }
  return <Join initialName={name} initialRoom={room} />;
}
