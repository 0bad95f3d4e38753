import { useState } from 'react';

export default function Input({ onSend, disabled }) {
  const [text, setText] = useState('');
  const submit = (e) => {
    e.preventDefault();
    if (onSend(text)) setText('');
  };
  return (
    <form className="composer" onSubmit={submit}>
      <input
        data-testid="message-input"
        className="composer-input"
        placeholder={disabled ? 'Connecting…' : 'Type a message…'}
        value={text}
        maxLength={2000}
        autoFocus
        onChange={(e) => setText(e.target.value)}
      />
      <button data-testid="send" className="button primary send" type="submit" disabled={disabled || !text.trim()}>
        <span>Send</span>
        <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
          <path fill="currentColor" d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z" />
        </svg>
      </button>
    </form>
  );
}
