import { hue, initials } from '../util.js';

export default function Avatar({ name, small, online }) {
  const h = hue(name);
  return (
    <span
      className={`avatar ${small ? 'small' : ''}`}
      style={{ background: `linear-gradient(135deg, hsl(${h} 70% 62%), hsl(${(h + 40) % 360} 70% 52%))` }}
      aria-hidden="true"
    >
      {initials(name)}
      {online && <span className="online-dot" />}
    </span>
  );
}
