import { useState } from 'react';
import { navigate, href } from '../router.jsx';

export default function Join({ initialName = '', initialRoom = '' }) {
  const [name, setName] = useState(initialName);
  const [room, setRoom] = useState(initialRoom);
  const ready = name.trim() !== '' && room.trim() !== '';

  const submit = (e) => {
    e.preventDefault();
    if (!ready) return;
    navigate(href('/chat', { name: name.trim(), room: room.trim() }));
  };

  return (
    <main className="join">
      <form className="join-card" onSubmit={submit} noValidate>
        <div className="brand">
          <span className="brand-logo" aria-hidden="true">
            <svg viewBox="0 0 24 24" width="26" height="26"><path fill="currentColor" d="M5 4h14a3 3 0 0 1 3 3v8a3 3 0 0 1-3 3h-7l-5 4v-4H5a3 3 0 0 1-3-3V7a3 3 0 0 1 3-3z" /></svg>
          </span>
          <h1>Join a room</h1>
          <p className="muted">Pick a name and a room, and start talking.</p>
        </div>
        <label className="field">
          <span>Name</span>
          <input
            data-testid="join-name"
            placeholder="Your name"
            autoComplete="nickname"
            autoFocus
            maxLength={64}
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Room</span>
          <input
            data-testid="join-room"
            placeholder="Room name"
            autoComplete="off"
            maxLength={64}
            value={room}
            onChange={(e) => setRoom(e.target.value)}
          />
        </label>
        <button data-testid="join-submit" className="button primary" type="submit" disabled={!ready}>
          Sign In
        </button>
      </form>
    </main>
  );
}
