import Avatar from './Avatar.jsx';

export default function OnlineUsers({ users, me }) {
  return (
    <aside className="online">
      <h3>
        People online <span className="count">{users.length}</span>
      </h3>
      <ul data-testid="online-users">
        {users.map((u) => (
          <li key={u.id} data-name={u.name} className={u.name === me ? 'me' : ''}>
            <Avatar name={u.name} online />
            <span className="user-name" data-testid="user">{u.name}</span>
            {u.name === me && <span className="you">you</span>}
          </li>
        ))}
      </ul>
    </aside>
  );
}
