import { Link } from '../router.jsx';

const LABEL = { connecting: 'Connecting…', joined: 'Connected', reconnecting: 'Reconnecting…' };

export default function InfoBar({ room, status, count }) {
  return (
    <header className="info-bar">
      <div className="info-left">
        <span className={`status-dot ${status}`} title={LABEL[status]} aria-label={LABEL[status]} />
        <div>
          <h2 className="room-title">
            <span className="hash" aria-hidden="true">#</span>
            <span data-testid="room-name">{room}</span>
          </h2>
          <p className="muted small">
            {status === 'joined' ? `${count} online` : LABEL[status]}
          </p>
        </div>
      </div>
      <Link data-testid="leave" className="leave" to="/" title="Leave the room" aria-label="Leave the room">
        <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
          <path fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round"
            d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 17l5-5-5-5M15 12H4" />
        </svg>
        <span>Leave</span>
      </Link>
    </header>
  );
}
