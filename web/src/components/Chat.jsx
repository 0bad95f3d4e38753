import { useCallback, useEffect, useRef, useState } from 'react';
import { io } from 'socket.io-client';
import { SERVER_URL } from '../config.js';
import { Link, href } from '../router.jsx';
import InfoBar from './InfoBar.jsx';
import Messages from './Messages.jsx';
import Input from './Input.jsx';
import OnlineUsers from './OnlineUsers.jsx';

// The server trims and lower-cases; until it tells us, show the same.
const normal = (s) => s.trim().toLowerCase();

export default function Chat({ name, room }) {
  const [status, setStatus] = useState('connecting'); // connecting | joined | reconnecting
  const [error, setError] = useState('');
  const [messages, setMessages] = useState([]);
  const [users, setUsers] = useState([]);
  const [roomName, setRoomName] = useState(normal(room));
  const [myId, setMyId] = useState(null);
  const socketRef = useRef(null);

  useEffect(() => {
    const socket = io(SERVER_URL, { withCredentials: true });
    socketRef.current = socket;

    // Joins on every (re)connection: a new connection is a new socket on the server.
    socket.on('connect', () => {
      socket.emit('join', { name, room }, (err) => {
        if (err) {
          setError(String(err));
          socket.disconnect();
          return;
        }
        setMyId(socket.id);
        setStatus('joined');
      });
    });
    socket.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect') setStatus('reconnecting');
    });
    socket.on('message', (message) => {
      setMessages((list) => [...list, { ...message, at: new Date() }]);
    });
    socket.on('roomData', (data) => {
      if (data && typeof data.room === 'string') setRoomName(data.room);
      setUsers(Array.isArray(data?.users) ? data.users : []);
    });

    return () => {
      socket.removeAllListeners();
      socket.disconnect();
      socketRef.current = null;
    };
  }, [name, room]);

  const send = useCallback((text) => {
    const socket = socketRef.current;
    if (!socket || !text.trim()) return false;
    socket.emit('sendMessage', text);
    return true;
  }, []);

  // Who am I, in the server's words (trimmed, lower-cased).
  const me = users.find((u) => u.id === myId)?.name ?? normal(name);

  if (error) {
    return (
      <main className="join">
        <div className="join-card error-card" role="alert">
          <h1>Could not join</h1>
          <p data-testid="error" className="error-text">{error}</p>
          <Link className="button primary" to={href('/', { name, room })}>Choose again</Link>
        </div>
      </main>
    );
  }

  return (
    <main className="chat">
      <section className="chat-main">
        <InfoBar room={roomName} status={status} count={users.length} />
        <Messages messages={messages} me={me} />
        <Input onSend={send} disabled={status !== 'joined'} />
      </section>
      <OnlineUsers users={users} me={me} />
    </main>
  );
}
