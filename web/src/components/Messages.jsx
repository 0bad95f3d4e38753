import { useEffect, useRef } from 'react';
import Avatar from './Avatar.jsx';
import { isSystem, timeOf } from '../util.js';

export default function Messages({ messages, me }) {
  const listRef = useRef(null);

  // Auto-scroll to the newest message.
  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTo({ top: el.scrollHeight, behavior: 'smooth' });
  }, [messages.length]);

  return (
    <div className="messages" data-testid="messages" ref={listRef} aria-live="polite">
      {messages.length === 0 && <p className="empty muted">No messages yet.</p>}
      {messages.map((m, i) => {
        const own = m.user === me;
        if (!own && isSystem(m.user)) {
          return (
            <div key={i} className="message system" data-testid="message" data-own="false" data-user={m.user}>
              <span className="message-text" data-testid="message-text">{m.text}</span>
            </div>
          );
        }
        const prev = messages[i - 1];
        const first = !prev || prev.user !== m.user;
        return (
          <div
            key={i}
            className={`message ${own ? 'own' : 'other'} ${first ? 'first' : ''}`}
            data-testid="message"
            data-own={own ? 'true' : 'false'}
            data-user={m.user}
          >
            {!own && (first ? <Avatar name={m.user} small /> : <span className="avatar-spacer" />)}
            <div className="bubble-wrap">
              {first && !own && <span className="message-user">{m.user}</span>}
              <div className="bubble">
                <span className="message-text" data-testid="message-text">{m.text}</span>
                <time className="message-time">{timeOf(m.at)}</time>
              </div>
            </div>
          </div>
        );
      })}
    </div>
  );
}
